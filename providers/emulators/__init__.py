"""Standard-library WSGI emulators of the provider APIs (PDL v5 and Apify v2).

They stand in for the real providers in tests (over loopback HTTP) and behind sandbox API keys, so they
import nothing from Django or the rest of the project. `server` mounts both on one port.
"""
