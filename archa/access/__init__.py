"""Access: DIP export (verified reads from the cheapest copy that holds each file intact,
directory and zip sinks, DIP METS and index.html), access copies, IIIF packages with static
tiles, and full-text search over the OCR of digitised pages."""
