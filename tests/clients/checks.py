"""The checks the RawProxy scripts share (imported from the script's own directory, which
python puts first on sys.path): a failed check prints what failed and exits non-zero."""

import sys

from bitcoin.rpc import JSONRPCError


def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)


def expect_error(call, code, what):
    try:
        call()
    except JSONRPCError as e:
        check(e.error.get("code") == code, "%s: code %r, expected %d" % (what, e.error, code))
        return
    check(False, what + ": no error")
