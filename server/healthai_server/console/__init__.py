"""The review console: server-rendered pages for clinicians and coders working the review queue.

A small aiohttp app (`healthai-server console`) that calls the real ReviewService over gRPC with
the signed-in reviewer's bearer token, kept in a server-side session: the token is never put in
a page, a URL or a log line, and neither is a note's text.
"""
