"""`migrator web`: the conversion as a local web page, for an owner who never opens a terminal.

The server listens on 127.0.0.1 only, on a free port (or the one asked for), and opens the page in
the default browser with a random access token in its address. Every request must carry that token
(in the address, or in the cookie the first visit sets) and a Host header naming this server, so
that no other site and no other user's browser can drive it (DNS rebinding); every form carries a
CSRF token too. An upload is bounded in size and unpacked as the command line unpacks a zip
(`migrator.sources`); only the files a conversion wrote in this session's own folder are served.
"""

from __future__ import annotations

from migrator.web.app import create_app, serve

__all__ = ["create_app", "serve"]
