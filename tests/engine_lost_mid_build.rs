//! A Docker engine that goes away in the middle of a build: the build must
//! fail with `DockerUnavailable`, not hang and not report success.
//!
//! The engine here is a stand-in on a unix socket of the test's own temporary
//! directory: it responds to the version and ping requests and the base image
//! lookup, then drops the connection after the first line of build output.

use std::time::Duration;

use skillguard::resolve::{Lock, TargetEnv};
use skillguard::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Reads one request: its head, then a body by Content-Length. Returns the request line.
async fn read_request(stream: &mut UnixStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|value| value.trim().parse::<usize>().unwrap_or(0)))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    head.lines().next().map(str::to_string)
}

async fn respond(stream: &mut UnixStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

async fn serve(mut stream: UnixStream) {
    while let Some(request_line) = read_request(&mut stream).await {
        let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
        if path.ends_with("/version") {
            respond(&mut stream, "200 OK", r#"{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24"}"#).await;
        } else if path.ends_with("/_ping") {
            respond(&mut stream, "200 OK", "OK").await;
        } else if path.contains("/images/base-image:test/json") {
            respond(&mut stream, "200 OK", r#"{"Id":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}"#).await;
        } else if path.contains("/images/") {
            respond(&mut stream, "404 Not Found", r#"{"message":"no such image"}"#).await;
        } else if path.contains("/build") {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let line = "{\"stream\":\"Step 1/7 : FROM base\\n\"}\r\n";
            let chunk = format!("{:x}\r\n{line}\r\n", line.len());
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(chunk.as_bytes()).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            // The engine goes away: the connection closes with the response unfinished.
            return;
        } else {
            respond(&mut stream, "500 Internal Server Error", r#"{"message":"unexpected request"}"#).await;
        }
    }
}

#[tokio::test]
async fn engine_lost_mid_build_is_docker_unavailable() {
    let directory = tempfile::tempdir().unwrap();
    let socket = directory.path().join("engine.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    // This file is its own test binary with one test, so no other test reads the variable.
    std::env::set_var("DOCKER_HOST", format!("unix://{}", socket.display()));

    let docker = skillguard::docker::connect().await.unwrap();
    let lock = Lock::new(Vec::new(), TargetEnv::default(), Vec::new());
    let lines = std::sync::Mutex::new(Vec::new());
    let on_log = |line: &str| lines.lock().unwrap().push(line.to_string());
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        skillguard::image::build(&docker, &lock, &[], "base-image:test", None, &[], &on_log),
    )
    .await
    .expect("the build must end when the engine goes away");

    let error = outcome.unwrap_err();
    assert!(matches!(error, Error::DockerUnavailable(_)), "{error:?}");
    assert_eq!(lines.lock().unwrap().as_slice(), ["Step 1/7 : FROM base"]);
}
