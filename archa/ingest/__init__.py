"""SIP intake: open and validate bags (serialized bags extracted by archa.repository.unpacking),
identify, assemble AIPs."""
