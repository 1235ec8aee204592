"""Thin servicers: protobuf in, domain call, protobuf out."""
