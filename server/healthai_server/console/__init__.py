"""The review console: server-rendered pages for clinicians and coders working the review queue.

A small aiohttp app (`healthai-server console`) that calls the real ReviewService over gRPC with
the signed-in reviewer's bearer token, kept in an AES-GCM sealed session cookie (sessions.py) that
any replica opens: the token is never put in a page, a URL or a log line in the clear, and neither
is a note's text.
"""
