"""Batch jobs: the queue consumer and the job operations, free of gRPC types."""
