//! Page language: `ui_locales` query parameter > `monban_lang` cookie >
//! `Accept-Language` > `ui.default_locale`. Japanese and English.

use actix_web::HttpRequest;

pub const LANG_COOKIE: &str = "monban_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ja,
    En,
}

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ja" => Some(Locale::Ja),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// First supported tag of a space-separated `ui_locales` value.
    pub fn from_ui_locales(v: &str) -> Option<Locale> {
        v.split_whitespace().find_map(Locale::parse)
    }

    /// Best supported language of an `Accept-Language` header, by q-value.
    pub fn from_accept_language(v: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (i, part) in v.split(',').enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(l) = Locale::parse(tag) {
                // Higher q wins; on a tie the earlier entry wins.
                if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                    best = Some((q, i, l));
                }
            }
        }
        best.map(|(_, _, l)| l)
    }

    /// Negotiates the locale for a request.
    pub fn from_request(req: &HttpRequest, default: Locale) -> Locale {
        if let Some(l) =
            query_param(req.query_string(), "ui_locales").and_then(|v| Locale::from_ui_locales(&v))
        {
            return l;
        }
        if let Some(l) = req
            .cookie(LANG_COOKIE)
            .and_then(|c| Locale::parse(c.value()))
        {
            return l;
        }
        req.headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|h| h.to_str().ok())
            .and_then(Locale::from_accept_language)
            .unwrap_or(default)
    }

    /// Text for `key` in this language (the key itself when unknown).
    pub fn t(self, key: &str) -> &'static str {
        let (ja, en) = text(key);
        match self {
            Locale::Ja => ja,
            Locale::En => en,
        }
    }
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// (Japanese, English) for each message key.
fn text(key: &str) -> (&'static str, &'static str) {
    match key {
        "lang.switch" => ("English", "日本語"),
        "login.title" => ("ログイン", "Sign in"),
        "login.username" => ("メールアドレスまたはログインID", "Email or login ID"),
        "login.password" => ("パスワード", "Password"),
        "login.submit" => ("ログイン", "Sign in"),
        "login.failed" => (
            "ログインIDまたはパスワードが正しくありません。",
            "The login ID or password is incorrect.",
        ),
        "login.locked" => (
            "ログインの失敗が続いたため、このアカウントはロックされています。しばらくしてから再度お試しいただくか、管理者にお問い合わせください。",
            "This account is locked after repeated failed sign-ins. Try again later or contact your administrator.",
        ),
        "login.suspended" => (
            "このアカウントは管理者によって利用停止されています。管理者にお問い合わせください。",
            "This account has been suspended by an administrator. Contact your administrator.",
        ),
        "login.missing" => (
            "ログインIDとパスワードを入力してください。",
            "Enter your login ID and password.",
        ),
        "account.title" => ("アカウント", "Your account"),
        "account.signed_in_as" => ("ログイン中", "Signed in as"),
        "account.email" => ("メールアドレス", "Email"),
        "account.login_id" => ("ログインID", "Login ID"),
        "account.sessions" => ("有効なセッション", "Active sessions"),
        "account.session_started" => ("開始", "Started"),
        "account.session_ip" => ("IPアドレス", "IP address"),
        "account.session_agent" => ("環境", "Browser"),
        "account.this_session" => ("（このセッション）", "(this session)"),
        "logout.title" => ("ログアウト", "Sign out"),
        "logout.confirm" => ("ログアウトしますか？", "Do you want to sign out?"),
        "logout.submit" => ("ログアウト", "Sign out"),
        "logout.done" => ("ログアウトしました。", "You have signed out."),
        "logout.again" => ("もう一度ログイン", "Sign in again"),
        "error.title" => ("エラー", "Error"),
        "error.back" => ("最初の画面へ戻る", "Back to the start page"),
        "error.reopen" => ("ページを開き直す", "Open the page again"),
        "error.csrf_failed" => (
            "このフォームは受け付けられませんでした。有効期限が切れたか（別のタブでログイン・ログアウトした場合など）、このサイト以外から送信されたためです。何も変更されていません。ページを開き直して、もう一度入力してください。",
            "This form could not be accepted: it had expired (for example after signing in or out in another tab) or it was not sent from this site. Nothing was changed. Open the page again and fill it in once more.",
        ),
        "error.saml_bad_request" => (
            "シングルサインオンの要求が正しくありません。",
            "The single sign-on request is not valid.",
        ),
        "error.saml_too_large" => (
            "シングルサインオンの要求が大きすぎます。",
            "The single sign-on request is too large.",
        ),
        "error.saml_unknown_sp" => (
            "このサービスは登録されていません。管理者にお問い合わせください。",
            "This service is not registered. Contact your administrator.",
        ),
        "error.saml_unsigned" => (
            "このサービスからの要求には署名が必要です。",
            "Requests from this service must be signed.",
        ),
        "error.saml_bad_signature" => (
            "要求の署名を検証できませんでした。",
            "The request signature could not be verified.",
        ),
        "error.saml_bad_acs" => (
            "応答の送信先がサービスの登録内容と一致しません。",
            "The response address does not match the service's registration.",
        ),
        "error.saml_replay" => (
            "この要求はすでに使用されています。サービスからもう一度やり直してください。",
            "This request was already used. Start again from the service.",
        ),
        "error.saml_expired" => (
            "シングルサインオンの要求の有効期限が切れました。サービスからもう一度やり直してください。",
            "The single sign-on request has expired. Start again from the service.",
        ),
        "error.saml_idp_initiated_disabled" => (
            "このサービスへのIdP起点のログインは許可されていません。",
            "Signing in to this service from here is not enabled.",
        ),
        "error.not_found" => ("ページが見つかりません。", "The page was not found."),
        "error.payload_too_large" => (
            "送信されたデータが大きすぎます。",
            "The submitted data is too large.",
        ),
        "error.bad_request" => (
            "リクエストの形式が正しくありません。",
            "The request is not well-formed.",
        ),
        "error.rate_limited" => (
            "リクエストが多すぎます。しばらく待ってから再度お試しください。",
            "Too many requests. Wait a moment and try again.",
        ),
        "error.internal" => (
            "予期しないエラーが発生しました。しばらくしてから再度お試しください。",
            "An unexpected error occurred. Try again later.",
        ),
        "error.unavailable" => (
            "サービスが一時的に利用できません。",
            "The service is temporarily unavailable.",
        ),
        "authz.error" => (
            "このアプリからのログイン要求を処理できません。アプリの提供元にお問い合わせください。",
            "This sign-in request from the application cannot be processed. Contact the application's provider.",
        ),
        "password.invitation_title" => ("パスワードの設定", "Set your password"),
        "password.change_title" => ("パスワードの変更", "Change your password"),
        "password.current" => ("現在のパスワード", "Current password"),
        "password.new" => ("新しいパスワード", "New password"),
        "password.confirm" => ("新しいパスワード（確認）", "New password again"),
        "password.submit" => ("保存", "Save"),
        "password.mismatch" => ("確認用のパスワードが一致しません。", "The two new passwords do not match."),
        "password.current_wrong" => ("現在のパスワードが正しくありません。", "The current password is incorrect."),
        "password.weak" => (
            "このパスワードは使用できません。より長く、推測されにくいものにしてください。",
            "This password cannot be used. Choose a longer one that is harder to guess.",
        ),
        "error.invalid_invitation" => (
            "この招待リンクは無効か、使用済みか、有効期限が切れています。管理者にお問い合わせください。",
            "This invitation link is invalid, used or expired. Contact your administrator.",
        ),
        "app_blocked" => (
            "このサービスの利用権限がありません。",
            "You are not permitted to use this service.",
        ),
        "error.support_grant_limit" => (
            "現在すでに上限に達しているため、これ以上認証リンクを生成できません",
            "The limit has been reached; no more links can be generated",
        ),
        "error.impersonation_forbidden" => (
            "サポート用のセッションでは、この操作はできません。",
            "This cannot be done in a support session.",
        ),
        "support.banner" => ("サポート担当者として次のユーザーのアカウントを操作中です：", "Support session for"),
        "support.redeem_title" => ("サポートアクセス", "Support access"),
        "support.redeem_confirm" => ("次のユーザーとしてサインインします：", "You are about to act as"),
        "support.readonly" => ("閲覧のみ", "Read-only"),
        "support.until" => ("有効期限", "Valid until"),
        "support.submit" => ("開始する", "Start"),
        "consent.title" => ("アクセスの許可", "Allow access"),
        "consent.asks" => (
            "が、あなたのアカウントの次の情報へのアクセスを求めています。",
            "is asking for access to the following from your account.",
        ),
        "consent.approve" => ("許可する", "Allow"),
        "consent.deny" => ("拒否する", "Deny"),
        "scope.openid" => ("あなたがログインしていることの確認", "Confirm that you are signed in"),
        "scope.profile" => ("名前とユーザー名", "Your name and user name"),
        "scope.email" => ("メールアドレス", "Your email address"),
        "scope.address" => ("住所", "Your address"),
        "scope.phone" => ("電話番号", "Your phone number"),
        "scope.offline_access" => (
            "ログアウト後もアクセスを続けること",
            "Keep access while you are signed out",
        ),
        _ => super::i18n_mfa::text(key)
            .or_else(|| super::i18n_device::text(key))
            .unwrap_or(("", "")),
    }
}

/// Localised description of an error code, if there is one.
pub fn error_text(locale: Locale, code: &str) -> Option<&'static str> {
    let t = locale.t(&format!("error.{code}"));
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_by_quality() {
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("fr, ja;q=0.5, en;q=0.4"),
            Some(Locale::Ja)
        );
        assert_eq!(Locale::from_accept_language("de, fr"), None);
        assert_eq!(
            Locale::from_accept_language("ja;q=0, en;q=0.1"),
            Some(Locale::En)
        );
    }

    #[test]
    fn ui_locales_first_supported() {
        assert_eq!(Locale::from_ui_locales("fr-CA ja en"), Some(Locale::Ja));
        assert_eq!(Locale::from_ui_locales("de"), None);
    }

    #[test]
    fn every_key_has_both_languages() {
        for key in [
            "login.title",
            "login.failed",
            "error.csrf_failed",
            "logout.done",
        ] {
            assert!(!Locale::Ja.t(key).is_empty() && !Locale::En.t(key).is_empty());
            assert_ne!(Locale::Ja.t(key), Locale::En.t(key));
        }
    }
}
