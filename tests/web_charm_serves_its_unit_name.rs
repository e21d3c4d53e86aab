//! The demo `web` charm (`tests/charms/web`) run as Juju would run it (see `webcharm`). Proves:
//! the server starts on `unit-get private-address` and the `port` option, answers every path
//! with the unit name, restarts on a port change, publishes `hostname`/`port` on `website`,
//! and dies on `stop`.

mod webcharm;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use webcharm::WebUnit;

const ADDR: &str = "127.0.3.10";

fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect((ADDR, port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn web_charm_serves_its_unit_name_and_follows_config() {
    let unit = WebUnit::new("web/1", ADDR);
    unit.config(30310, "");
    unit.hook("install");
    let reply = get(30310, "/anything/at/all").unwrap();
    assert!(
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );
    assert!(reply.ends_with("\r\n\r\nweb/1\n"), "{reply}");
    assert!(get(30310, "/health").unwrap().contains(" 200 "));
    let calls = unit.calls();
    assert!(
        calls.contains("status-set active serving on 127.0.3.10:30310"),
        "{calls}"
    );
    assert!(
        calls.contains("unit-get --format=json private-address"),
        "{calls}"
    );

    // start / config-changed with the same settings keep the same process.
    let first = unit.pid();
    unit.hook("start");
    assert_eq!(unit.pid(), first);

    // A port change restarts the server and republishes on every website relation.
    unit.config(30311, "web_service");
    unit.hook("config-changed");
    assert!(get(30311, "/").unwrap().ends_with("web/1\n"));
    assert!(get(30310, "/").is_err(), "old port still served");
    assert_ne!(unit.pid(), first);
    let calls = unit.calls();
    assert!(
        calls.contains(r#"relation-set -r website:3 --file - {"hostname": "127.0.3.10", "port": "30311", "service_name": "web_service"}"#),
        "{calls}"
    );

    // The relation hooks publish on their own relation; an emptied service_name is deleted.
    unit.config(30311, "");
    unit.hook("website-relation-joined");
    assert!(
        unit.calls().contains(
            r#"relation-set --file - {"hostname": "127.0.3.10", "port": "30311", "service_name": ""}"#
        ),
        "{}",
        unit.calls()
    );
    let bag = unit.bag();
    assert_eq!(bag.get("port").map(String::as_str), Some("30311"));
    assert_eq!(bag.get("hostname").map(String::as_str), Some(ADDR));
    assert!(!bag.contains_key("service_name"));

    // stop kills it.
    let pid = unit.pid().unwrap();
    unit.hook("stop");
    assert!(get(30311, "/").is_err());
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                stat.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone(), "server {pid} still running after stop");
}
