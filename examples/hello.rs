//! A plain actix-web "hello" server: the reference for Monban's static endpoints
//! (discovery, JWKS) in `bench/run.sh`. Same actix-web and worker count (one per core)
//! as Monban, no middleware, no state.
//!
//! `HELLO_LISTEN=127.0.0.1:8090 cargo run --release --example hello`

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::var("HELLO_LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("hello listening on http://{listen}");
    HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Ok().content_type("text/plain").body("hello")
        }))
    })
    .workers(workers)
    .bind(listen)?
    .run()
    .await
}
