// Telling the service manager how `pgdr daemon` is doing: the readiness protocol of systemd's
// Type=notify services (sd_notify(3)). The manager names an AF_UNIX datagram socket in
// $NOTIFY_SOCKET; the service sends it newline-separated KEY=VALUE assignments such as "READY=1"
// (listening, the start is complete), "STOPPING=1" and "STATUS=text".
//
// Written to the documented protocol rather than linked to libsystemd: it is one sendto() on a
// datagram socket, systemd declares it a stable interface and shows a free-standing sender in
// sd_notify(3), and the package then needs no library that only this call would use.
//
// send_service_notification is stateless and thread-safe: each call opens, sends on and closes its
// own socket.
#pragma once

#include <string>
#include <string_view>

namespace pgdr::daemon {

// The socket address in the environment variable NOTIFY_SOCKET ("" when unset: not started by a
// service manager, or by one that expects no notifications), and unsets the variable, as
// sd_notify(3)'s unset_environment does: the processes the daemon starts (its jobs, and the
// servers a drill starts, PostgreSQL being built with systemd support on Debian) must not speak
// for it. Not thread-safe (it changes the environment): call it before starting threads.
std::string take_notify_socket();

// Sends state as one datagram to socket_address: a path ("/run/systemd/notify"), or an abstract
// socket name written with a leading '@' ("@/org/freedesktop/systemd1/notify"). Throws Error(io)
// when the address is neither (e.g. systemd's "vsock:" form, which this does not speak), too long
// for sockaddr_un, or the datagram is not sent whole.
void send_service_notification(const std::string& socket_address, std::string_view state);

}  // namespace pgdr::daemon
