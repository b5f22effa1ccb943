//! Reads a JSON object on stdin and writes its Kubernetes protobuf encoding on stdout.
//! Used to serve `proto::encode_object` output to kubectl when (re)capturing
//! tests/fixtures/kubectl_decoded (see tests/fixtures/README.md):
//! `cargo run --release -p proto --example encode_json < object.json > object.pb`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

fn main() {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).unwrap();
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    std::io::stdout()
        .write_all(&proto::encode_object(&v).unwrap())
        .unwrap();
}
