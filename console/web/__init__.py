"""The web page "Data → Products": history, product detail, full sync, account settings.

Server-rendered Flask; the only JavaScript is the run page's progress poll. Every page
and endpoint requires a login (credentials from settings), every POST a CSRF token.

Public surface:

- `create_app(settings) -> Flask` — the WSGI application (`productsync web` serves it).
- `flower_command(settings)` / `flower_environment(settings)` — how to start Flower with
  basic auth on and no secret on its command line (used by `productsync run`).
"""

from console.web.app import create_app
from console.web.flower import flower_command, flower_environment

__all__ = ["create_app", "flower_command", "flower_environment"]
