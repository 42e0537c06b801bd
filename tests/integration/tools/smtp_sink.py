#!/usr/bin/python3
"""An SMTP sink for the alert tests, on aiosmtpd (Debian's python3-aiosmtpd): listens on
127.0.0.1:PORT and writes each message to DIR/<n>.eml (n counting from 1), with the envelope's
sender, recipients and the authenticated login as X-Sink-* header lines before it.

  smtp_sink.py PORT DIR                      plain SMTP, no authentication
  smtp_sink.py PORT DIR CERT KEY USER PASS   STARTTLS required, then AUTH (PLAIN or LOGIN) as
                                             USER/PASS required before MAIL FROM
"""
import os
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out_dir = int(sys.argv[1]), sys.argv[2]
tls = len(sys.argv) == 7
lock = threading.Lock()
count = 0


class Handler:
    async def handle_DATA(self, server, session, envelope):
        global count
        with lock:
            count += 1
            path = os.path.join(out_dir, "%d.eml" % count)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        head = "X-Sink-From: %s\r\nX-Sink-To: %s\r\nX-Sink-Login: %s\r\nX-Sink-TLS: %s\r\n" % (
            envelope.mail_from, ", ".join(envelope.rcpt_tos), login, "yes" if session.ssl else "no")
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"


kwargs = {}
if tls:
    cert, key, user, password = sys.argv[3:7]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
            auth_data.password.decode() == password
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    kwargs = dict(tls_context=ctx, require_starttls=True, auth_required=True, auth_require_tls=True,
                  authenticator=authenticator)

os.makedirs(out_dir, exist_ok=True)
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
