//! Every directive and server option the allow-list accepts in its own tests is valid HAProxy
//! 2.6: rendered where `Placement` says, the config passes `haproxy -c` (no ports are bound).
//! Proves the allow-list (`spec/http.md` §5) never admits a line that breaks the candidate.

use haproxy_lb::plan::directive::ServerOptionTemplate;
use haproxy_lb::plan::{Directive, Placement};
use std::process::Command;

const FRONTEND_AND_BACKEND_LINES: &[&str] = &[
    "mode http",
    "option httplog",
    "balance leastconn",
    "cookie SRVNAME insert indirect nocache httponly secure maxidle 30m maxlife 8h",
    "option forwardfor except 127.0.0.0/8 header X-Real-IP if-none",
    "option nolinger",
    "option httpchk GET /health HTTP/1.1",
    "option redispatch",
    "option http-server-close",
    "option abortonclose",
    "option log-health-checks",
    "option allbackups",
    "option dontlognull",
    "option logasap",
    "option clitcpka",
    "option tcpka",
    "option srvtcpka",
    "timeout client 50000",
    "timeout client-fin 1s",
    "timeout server 30s",
    "timeout server-fin 1s",
    "timeout connect 5s",
    "timeout queue 10s",
    "timeout check 2s",
    "timeout tunnel 1h",
    "timeout http-request 10s",
    "timeout http-keep-alive 1s",
    "hash-type consistent",
    "retries 3",
    "fullconn 100",
    "maxconn 1000",
    "backlog 100",
    "rate-limit sessions 100",
    "acl api path_beg -i /api",
    "acl host hdr(host) -m found",
    "acl local src 10.0.0.0/8 192.168.0.0/16",
    "use_backend be_web if api",
    "use_backend be_web unless { path_beg /x } or host",
    "redirect scheme https code 301 if !{ ssl_fc }",
    "redirect prefix https://example.com code 308 drop-query append-slash if api",
    "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
    "http-request add-header X-Client %[src]",
    "http-request set-var(req.x) req.hdr(host),lower",
    "http-request replace-path /old/(.*) /new/",
    "http-request set-path /a%%20b",
    "http-request set-query a=b",
    "http-request del-header X-Forwarded-For",
    "http-request replace-header Host (.*) example.com",
    "http-request replace-value X-Y a b",
    "http-request unset-var(txn.x)",
    "http-request redirect scheme https if !{ ssl_fc }",
    "http-request deny deny_status 403 if { src 10.0.0.1 }",
    "http-request tarpit if { src 10.0.0.2 }",
    "http-request allow if api",
    "http-response set-header X-Src %[src]",
    "http-response del-header Server",
    "http-response replace-value Cache-Control no-cache max-age=0",
    // HAProxy wants `send` before `expect` (ordering, not syntax).
    "http-check send meth GET uri /health ver HTTP/1.1 hdr Host example.com",
    "http-check expect ! status 500",
    "stick-table type ip size 10k expire 25h store conn_cnt,http_req_rate(10s)",
    "stick on src",
    "capture request header Host len 64",
    "capture response header Content-Type len 64",
    "capture cookie JSESSIONID len 32",
    "http-check expect rstring ^OK",
    "http-check disable-on-404",
    "balance uri whole depth 3",
    "balance url_param userid check_post",
    "balance hdr(Host) use_domain_only",
    "balance static-rr",
    "balance first",
    "balance random",
    "hash-type map-based sdbm avalanche",
    "stick match src table be_web",
    "stick store-request src",
    "option ssl-hello-chk",
    "option tcp-check",
    "option httpclose",
    "option http-keep-alive",
    "cookie S insert preserve postonly domain .example.com",
    "tcp-request inspect-delay 5s",
    "tcp-request content accept if { req.ssl_hello_type 1 }",
    "tcp-request content reject",
];

const SERVER_OPTIONS: &[&str] = &[
    "maxconn 100 cookie S{i} check",
    "check inter 5000 rise 2 fall 3 weight 10",
    "ssl verify none ca-file @system-ca alpn h2,http/1.1 check-alpn h2 sni req.hdr(host)",
    "proto h2 observe layer7 error-limit 3 on-marked-down shutdown-sessions",
    "init-addr last,libc,none backup on-marked-up shutdown-backup-sessions",
    "send-proxy-v2 agent-check agent-port 9 agent-inter 1s slowstart 10s fastinter 1s downinter 2s maxqueue 5 port 81",
    "disabled check-ssl verify none",
];

#[test]
fn accepted_directives_and_server_options_pass_haproxy_check() {
    let haproxy = "/usr/sbin/haproxy";
    assert!(
        std::path::Path::new(haproxy).exists(),
        "this test needs HAProxy 2.6 at {haproxy} (apt-get install haproxy)"
    );
    let mut frontend = String::from("frontend fe\n    bind 127.0.3.1:30001\n");
    let mut backend = String::from("backend be_web\n");
    for line in FRONTEND_AND_BACKEND_LINES {
        let d = Directive::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        if matches!(d.placement(), Placement::Frontend | Placement::Both) {
            frontend.push_str(&format!("    {d}\n"));
        }
        if matches!(d.placement(), Placement::Backend | Placement::Both) {
            backend.push_str(&format!("    {d}\n"));
        }
    }
    frontend.push_str("    default_backend be_web\n");
    for (index, text) in SERVER_OPTIONS.iter().enumerate() {
        let options: Vec<String> = ServerOptionTemplate::parse_words(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .iter()
            .map(|o| o.instantiate(index).unwrap().to_string())
            .collect();
        backend.push_str(&format!(
            "    server s{index} 127.0.3.2:{} {}\n",
            30002 + index,
            options.join(" ")
        ));
    }
    let config = format!(
        "global\n    log stdout format raw local0\ndefaults\n    mode http\n    log global\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n{frontend}{backend}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, &config).unwrap();
    let out = Command::new(haproxy)
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "haproxy -c refused:\n{}\n{}{}",
        config,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
