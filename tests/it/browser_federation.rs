//! Sign-in through an upstream OpenID provider in Chromium: a second Monban is the
//! upstream (at `127.0.0.1`), the Monban under test is at `localhost`. The user presses
//! the provider's button on the login page, signs in at the upstream's own form, and
//! comes back signed in; the redirects, cookies and CSP are the browser's own.
//! Screenshots in `target/browser-screenshots/federation-*.png`.

use crate::browser::harness::Browser;
use crate::browser::type_credentials;
use crate::common::{Backend, TestApp};
use crate::mfa_support::PW;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_through_an_upstream_monban_in_chromium() {
    let Some(b) = Browser::start("federation").await else {
        return;
    };
    let up = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let down = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        let port = cfg.server.listen.rsplit(':').next().unwrap().to_string();
        cfg.server.issuer = format!("http://localhost:{port}");
    })
    .await
    .unwrap();
    let base = format!("http://localhost:{}", down.port);
    let reg = up
        .register_client(monban::clients::NewClient {
            name: "Downstream".into(),
            kind: "confidential".into(),
            redirect_uris: vec![format!("{base}/login/federation/corp/callback")],
            first_party: true,
            ..Default::default()
        })
        .await;
    let (s, body) = down
        .admin()
        .await
        .post(
            "/identity-providers",
            json!({
                "slug": "corp",
                "display_name": "Corp account",
                "issuer": up.base,
                "client_id": reg.client_id,
                "client_secret": reg.client_secret.unwrap(),
                "create_users": true,
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    up.create_user("emi@corp.example", PW).await;

    b.goto(&format!("{base}/login")).await;
    b.look("login page with a provider", &[]).await;
    b.click("a[data-provider='corp']").await;
    // The upstream's own sign-in page.
    b.wait_url("upstream sign-in", |u| {
        u.starts_with(&up.base) && u.contains("/login")
    })
    .await;
    b.look("upstream sign-in page", &[]).await;
    type_credentials(&b, "emi@corp.example", PW).await;
    // Back, signed in, as a user created from the upstream account.
    b.wait_url("back signed in", |u| u == format!("{base}/account"))
        .await;
    assert!(b.body_text().await.contains("emi@corp.example"));
    b.look("account after the upstream sign-in", &[]).await;
    let user = down
        .state
        .store
        .find_user_by_login(down.state.org.id, "emi@corp.example")
        .await
        .unwrap()
        .expect("created");
    let s = down
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .remove(0);
    assert!(s.amr.starts_with("fed"), "{}", s.amr);
    // The account page lists the link.
    b.goto(&format!("{base}/account/linked-logins")).await;
    assert!(b.has("tr[data-provider='corp']").await);
    b.look("linked logins", &[]).await;
    b.close().await;
}
