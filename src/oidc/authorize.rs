//! The authorization endpoint (`GET`/`POST /authorize`) and the consent page.
//!
//! Until the client and its redirect URI are known to be registered, errors are
//! shown as a page and nobody is redirected anywhere. After that, errors go back to
//! the client the way the request asked (`query` or `form_post`), with `state` and
//! the RFC 9207 `iss`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::authorization::{
    decide, oauth_error, refuse_malformed, trusted_target, validate, Mode, Step, Target,
    FRESH_PARAM,
};
use super::params::Params;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::{self, csrf};

pub const AUTHZ_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "display",
    "claims",
    "request",
    "request_uri",
    "registration",
    FRESH_PARAM,
];

pub async fn authorize_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let raw = req.query_string().as_bytes().to_vec();
    run(&req, &state, &raw, false).await
}

pub async fn authorize_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::new(
            crate::error::Kind::UnsupportedMediaType,
            "bad_request",
            "expected application/x-www-form-urlencoded",
        ));
    }
    run(&req, &state, &body, false).await
}

async fn run(
    req: &HttpRequest,
    state: &Core,
    raw: &[u8],
    consent_given: bool,
) -> AppResult<HttpResponse> {
    let (p, problems) = Params::parse_all(raw, AUTHZ_PARAMS);
    let step = if !problems.is_empty() {
        refuse_malformed(state, &p, &problems).await?
    } else {
        match validate(state, &p).await? {
            Err(step) => step,
            Ok(valid) => {
                let current = http::current_session(req, state).await?;
                decide(state, valid, current, p, consent_given).await?
            }
        }
    };
    Ok(render(req, state, step))
}

fn render(req: &HttpRequest, state: &Core, step: Step) -> HttpResponse {
    match step {
        Step::Page(e) => {
            let locale = http::locale(req, state);
            let msg = format!("{} ({})", locale.t("authz.error"), e.detail);
            let status = crate::http::errors::status(e.kind);
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(
                    crate::http::templates::error(
                        locale,
                        &state.cfg.ui.product_name,
                        status.as_u16(),
                        &msg,
                        None,
                    )
                    .into_string(),
                )
        }
        Step::Local(path) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, path))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Step::Respond(target, mut params) => {
            if let Some(s) = &target.state {
                params.push(("state", s.clone()));
            }
            params.push(("iss", state.cfg.issuer().to_string()));
            respond(state, &target, &params)
        }
    }
}

fn respond(state: &Core, target: &Target, params: &[(&'static str, String)]) -> HttpResponse {
    match target.mode {
        Mode::Query => {
            let mut u = match url::Url::parse(&target.redirect_uri) {
                Ok(u) => u,
                Err(_) => return HttpResponse::BadRequest().finish(),
            };
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            HttpResponse::Found()
                .insert_header((header::LOCATION, u.to_string()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Mode::FormPost => crate::http::templates::form_post_response(
            &state.cfg.ui.product_name,
            &target.redirect_uri,
            params,
        ),
    }
}

// ---------------------------------------------------------------- consent

pub async fn consent_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let p = Params::parse(req.query_string().as_bytes(), AUTHZ_PARAMS)
        .map_err(|e| AppError::bad_request("invalid_request", e.to_string()))?;
    let (client, target, _) = match trusted_target(&state, &p).await? {
        Ok(t) => t,
        Err(step) => return Ok(render(&req, &state, step)),
    };
    // Either decision leads to the client's (registered) redirect URI.
    http::csp::allow_form_target(&req, &target.redirect_uri);
    let Some((_, user)) = http::current_session(&req, &state).await? else {
        return Ok(crate::account::to_login(&format!(
            "/authorize?{}",
            req.query_string()
        )));
    };
    let locale = http::locale(&req, &state);
    let token = csrf::issue(&req, &state);
    let scopes: Vec<String> = p
        .get("scope")
        .unwrap_or("")
        .split_whitespace()
        .filter(|s| client.allows_scope(s))
        .map(str::to_string)
        .collect();
    let page = crate::http::templates::consent(
        locale,
        &state.cfg.ui.product_name,
        &crate::http::templates::ConsentView {
            client_name: &client.name,
            user: &user.email,
            scopes: &scopes,
            request: &p.to_query(&[]),
            csrf: &token.token,
        },
    );
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    Ok(res.body(page.into_string()))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf_token: Option<String>,
    request: String,
    decision: String,
}

pub async fn consent_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ConsentForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let p = Params::parse(form.request.as_bytes(), AUTHZ_PARAMS)
        .map_err(|e| AppError::bad_request("invalid_request", e.to_string()))?;
    let (client, target, _) = match trusted_target(&state, &p).await? {
        Ok(t) => t,
        Err(step) => return Ok(render(&req, &state, step)),
    };
    let Some((session, user)) = http::current_session(&req, &state).await? else {
        return Ok(crate::account::to_login(&format!(
            "/authorize?{}",
            form.request
        )));
    };
    if form.decision != "approve" {
        return Ok(render(
            &req,
            &state,
            oauth_error(target, "access_denied", "the user denied the request"),
        ));
    }
    // A support engineer acting as the user may approve this one authorization, but
    // does not speak for the user: nothing is remembered for later.
    if session.impersonator_id.is_some() {
        return run(&req, &state, form.request.as_bytes(), true).await;
    }
    let scope: Vec<&str> = p
        .get("scope")
        .unwrap_or("")
        .split_whitespace()
        .filter(|s| client.allows_scope(s))
        .collect();
    // Remember the union of what was granted before and now.
    let mut all: Vec<String> = state
        .store
        .get_consent(user.id, &client.client_id)
        .await?
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    for s in scope {
        if !all.iter().any(|x| x == s) {
            all.push(s.to_string());
        }
    }
    state
        .store
        .put_consent(
            user.id,
            &client.client_id,
            &all.join(" "),
            state.clock.now(),
        )
        .await?;
    run(&req, &state, form.request.as_bytes(), true).await
}
