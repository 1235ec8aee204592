"""Domain types: plain dataclasses and enums, free of gRPC and protobuf."""
