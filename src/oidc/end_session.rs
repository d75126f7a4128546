//! RP-Initiated Logout 1.0: `GET`/`POST /end_session`.
//!
//! With a valid `id_token_hint` for the current session the user is signed out at
//! once; otherwise Monban asks first (a CSRF-protected form), so a third-party page
//! cannot sign people out. `post_logout_redirect_uri` must exactly match one
//! registered for the client named by the hint or `client_id`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::params::Params;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::{self, csrf, templates};
use crate::sessions;

const PARAMS: &[&str] = &[
    "id_token_hint",
    "logout_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

struct Checked {
    redirect: Option<String>,
    hint_sid: Option<String>,
    hint_sub: Option<String>,
}

async fn check(state: &Core, p: &Params) -> AppResult<Checked> {
    let bad = |d: &str| AppError::bad_request("invalid_logout_request", d.to_string());
    let (hint_client, hint_sid, hint_sub) = match p.get("id_token_hint") {
        None => (None, None, None),
        Some(h) => {
            let c: serde_json::Value =
                super::tokens::verify(state, h, super::tokens::TYP_ID, false)
                    .map_err(|_| bad("id_token_hint is not a valid ID token from this issuer"))?;
            let s = |k: &str| c.get(k).and_then(|v| v.as_str()).map(str::to_string);
            (s("aud"), s("sid"), s("sub"))
        }
    };
    let client_id = match (hint_client, p.get("client_id")) {
        (Some(a), Some(b)) if a != b => return Err(bad("client_id does not match id_token_hint")),
        (Some(a), _) => Some(a),
        (None, b) => b.map(str::to_string),
    };
    let redirect = match p.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let id = client_id
                .as_deref()
                .ok_or_else(|| bad("post_logout_redirect_uri needs id_token_hint or client_id"))?;
            let client = state
                .store
                .get_client(id)
                .await?
                .filter(|c| !c.disabled)
                .ok_or_else(|| bad("unknown client"))?;
            if !client.post_logout_uri_list().iter().any(|u| u == uri) {
                return Err(bad(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            let mut u = url::Url::parse(uri).map_err(|_| bad("bad post_logout_redirect_uri"))?;
            if let Some(st) = p.get("state") {
                u.query_pairs_mut().append_pair("state", st);
            }
            Some(u.to_string())
        }
    };
    Ok(Checked {
        redirect,
        hint_sid,
        hint_sub,
    })
}

fn done(
    req: &HttpRequest,
    state: &Core,
    redirect: Option<String>,
    clear_cookie: bool,
) -> HttpResponse {
    let mut res = match &redirect {
        Some(u) => {
            let mut r = HttpResponse::SeeOther();
            r.insert_header((header::LOCATION, u.clone()));
            r
        }
        None => {
            let mut r = HttpResponse::Ok();
            r.content_type("text/html; charset=utf-8");
            r
        }
    };
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if clear_cookie {
        res.cookie(crate::http::cookies::session_removal_cookie(state));
    }
    match redirect {
        Some(_) => res.finish(),
        None => {
            let locale = http::locale(req, state);
            res.body(templates::logged_out(locale, &state.cfg.ui.product_name).into_string())
        }
    }
}

async fn handle(req: &HttpRequest, state: &Core, raw: &[u8]) -> AppResult<HttpResponse> {
    let p = Params::parse(raw, PARAMS)
        .map_err(|e| AppError::bad_request("invalid_logout_request", e.to_string()))?;
    let checked = check(state, &p).await?;
    let Some((session, user)) = http::current_session(req, state).await? else {
        return Ok(done(req, state, checked.redirect, false));
    };
    let hint_matches = checked.hint_sid.as_deref() == Some(&session.id.to_string())
        || (checked.hint_sid.is_none()
            && checked.hint_sub.as_deref() == Some(&user.id.to_string()));
    if hint_matches {
        sessions::end(state, session.id, "rp_logout").await?;
        return Ok(done(req, state, checked.redirect, true));
    }
    // Ask the user; the answer leads to the registered post-logout URI.
    if let Some(u) = &checked.redirect {
        http::csp::allow_form_target(req, u);
    }
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    let page = templates::end_session_confirm(
        locale,
        &state.cfg.ui.product_name,
        &token.token,
        &p.to_query(&[]),
    );
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    Ok(res.body(page.into_string()))
}

pub async fn end_session_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let raw = req.query_string().as_bytes().to_vec();
    handle(&req, &state, &raw).await
}

pub async fn end_session_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    handle(&req, &state, &body).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf_token: Option<String>,
    request: String,
}

pub async fn end_session_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let p = Params::parse(form.request.as_bytes(), PARAMS)
        .map_err(|e| AppError::bad_request("invalid_logout_request", e.to_string()))?;
    let checked = check(&state, &p).await?;
    let had = http::current_session(&req, &state).await?;
    if let Some((session, _)) = &had {
        sessions::end(&state, session.id, "rp_logout").await?;
    }
    Ok(done(&req, &state, checked.redirect, had.is_some()))
}
