"""SIP intake: open and validate bags, extract serialized bags, identify, assemble AIPs."""
