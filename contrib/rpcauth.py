#!/usr/bin/env python3
"""Makes an `rpcauth` line for dotcoind, as Bitcoin Core's share/rpcauth/rpcauth.py does:
the password is kept in the config only as HMAC-SHA256(key = a random salt, password).

    contrib/rpcauth.py USER [PASSWORD]

Prints `rpcauth=USER:SALT$HASH` (for dotcoin.toml: rpcauth = ["USER:SALT$HASH"], or
dotcoind --rpcauth 'USER:SALT$HASH') and the password, generated when not given."""

import hmac
import secrets
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    user = sys.argv[1]
    password = sys.argv[2] if len(sys.argv) == 3 else secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    digest = hmac.new(salt.encode(), password.encode(), "sha256").hexdigest()
    print("rpcauth=%s:%s$%s" % (user, salt, digest))
    print("password: %s" % password)


if __name__ == "__main__":
    main()
