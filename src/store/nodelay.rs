//! TCP_NODELAY on the database connections. sqlx 0.9.0 stopped setting it (upstream issue
//! launchbadge/sqlx#4335; the fix, #4336, is merged but not released), so Nagle's algorithm
//! holds back the tail of any statement larger than one TCP segment — a batch of request
//! bodies or webhook payloads — until the server's delayed ACK, 40 ms on Linux: a batched
//! recorder then spends most of its time waiting on the network. libpq, and sqlx before 0.9,
//! set TCP_NODELAY on every connection; this does the same from the pool's connect hook.
//! Remove it once sqlx ships the fix.
//!
//! sqlx does not hand out its socket, so every TCP socket of the process gets the option:
//! harmless for the others (hyper and reqwest set it themselves).

use std::os::fd::BorrowedFd;

/// Sets TCP_NODELAY on every TCP socket this process has open (Linux; elsewhere a no-op).
pub fn on_all_tcp_sockets() {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in fds.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor was open when listed and is only borrowed for two system
        // calls. Should another thread close it meanwhile and the number be reused, the calls
        // reach that descriptor instead: `getsockopt`/`setsockopt` on it fail or set
        // TCP_NODELAY on some other TCP socket — neither does harm.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let tcp = socket.r#type().is_ok_and(|t| t == socket2::Type::STREAM)
            && socket
                .local_addr()
                .is_ok_and(|a| a.is_ipv4() || a.is_ipv6());
        if tcp {
            let _ = socket.set_tcp_nodelay(true);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tcp_connection_of_the_process_gets_nodelay() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nodelay(false).unwrap();
        super::on_all_tcp_sockets();
        assert!(client.nodelay().unwrap());
    }
}
