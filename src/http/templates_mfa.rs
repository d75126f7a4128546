//! Pages of two-step sign-in: the second step, enrolment, backup codes, MFA settings,
//! password re-entry.

use maud::{html, Markup};

use super::templates::layout;
use crate::i18n::Locale;

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(csrf); }
}

fn error_line(error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error role="alert" { (e) }
        }
    }
}

pub struct SecondStepView<'a> {
    pub csrf: &'a str,
    pub error: Option<&'a str>,
    pub step_up: bool,
    /// Offer the user's passkey (first).
    pub passkey: bool,
    /// Offer the authenticator app's code.
    pub totp: bool,
    /// Offer a backup code.
    pub backup: bool,
}

/// The second sign-in step: the passkey button first when the user has one, then an
/// authenticator code (`POST /login/mfa`, field `code`), then the backup-code link.
pub fn second_step_totp(locale: Locale, product: &str, v: &SecondStepView) -> Markup {
    let body = html! {
        h1 { (locale.t("mfa.step.title")) }
        @if v.step_up { p { (locale.t("mfa.step.step_up")) } }
        (error_line(v.error))
        @if v.passkey {
            p { (locale.t("passkeys.step_help")) }
            (super::templates_passkeys::signin_button(
                locale,
                v.csrf,
                "/login/mfa/passkey/options",
                "/login/mfa/passkey/finish",
                None,
                false,
            ))
        }
        @if v.totp {
            @if v.passkey { h2 { (locale.t("passkeys.or_code")) } }
            p { (locale.t("mfa.step.totp_help")) }
            form method="post" action="/login/mfa" {
                (csrf_field(v.csrf))
                label for="code" { (locale.t("mfa.step.totp_label")) }
                input #code type="text" name="code" inputmode="numeric"
                    autocomplete="one-time-code" maxlength="16" autocapitalize="none"
                    spellcheck="false" required autofocus[!v.passkey];
                button type="submit" { (locale.t("mfa.step.submit")) }
            }
        }
        @if v.backup {
            p { a href="/login/backup-code" {
                @if v.totp { (locale.t("mfa.step.use_backup")) } @else { (locale.t("passkeys.use_backup")) }
            } }
        }
    };
    layout(locale, product, locale.t("mfa.step.title"), body)
}

/// The second sign-in step with a backup code: `POST /login/backup-code`, field `code`.
pub fn second_step_backup(
    locale: Locale,
    product: &str,
    v: &SecondStepView,
    example: &str,
) -> Markup {
    let body = html! {
        h1 { (locale.t("mfa.backup.title")) }
        p { (locale.t("mfa.backup.help")) " " code { (example) } }
        (error_line(v.error))
        form method="post" action="/login/backup-code" {
            (csrf_field(v.csrf))
            label for="code" { (locale.t("mfa.backup.label")) }
            input #code type="text" name="code" autocomplete="off" maxlength="128"
                autocapitalize="none" spellcheck="false" required autofocus;
            button type="submit" { (locale.t("mfa.step.submit")) }
        }
        p { a href="/login/mfa" { (locale.t("mfa.backup.use_app")) } }
    };
    layout(locale, product, locale.t("mfa.backup.title"), body)
}

/// A message with one way onwards (expired sign-in, too many codes, stale page …).
pub fn notice(
    locale: Locale,
    product: &str,
    title_key: &str,
    message: &str,
    link: (&str, &str),
    alert: bool,
) -> Markup {
    let body = html! {
        h1 { (locale.t(title_key)) }
        @if alert { p.error role="alert" { (message) } } @else { p role="status" { (message) } }
        p { a href=(link.0) { (link.1) } }
    };
    layout(locale, product, locale.t(title_key), body)
}

/// After signing in with a backup code: how many remain, and a push to re-enrol.
pub fn backup_signed_in(locale: Locale, product: &str, left: i64, continue_to: &str) -> Markup {
    let body = html! {
        h1 { (locale.t("mfa.backup_done.title")) }
        p { (locale.t("mfa.backup_done.remaining")) " " strong #backup-codes-left { (left) } }
        @if left <= 2 {
            p.error role="alert" { (locale.t("mfa.backup_done.low")) }
        } @else {
            p { (locale.t("mfa.backup_done.advice")) }
        }
        p { a href="/account/mfa" { (locale.t("mfa.backup_done.settings")) } }
        p { a href=(continue_to) { (locale.t("mfa.continue")) } }
    };
    layout(locale, product, locale.t("mfa.backup_done.title"), body)
}

pub struct EnrolView<'a> {
    pub csrf: &'a str,
    pub pending_id: String,
    pub issuer: &'a str,
    pub account: &'a str,
    pub key: &'a str,
    pub otpauth_uri: &'a str,
    pub qr: &'a str,
    pub return_to: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The policy requires MFA; `Some(date)` while the user may still skip.
    pub required: bool,
    pub grace_until: Option<String>,
    pub re_enrol: bool,
}

pub fn enrol(locale: Locale, product: &str, v: &EnrolView) -> Markup {
    let body = html! {
        h1 { (locale.t("mfa.enrol.title")) }
        @if v.required {
            p.error { (locale.t("mfa.enrol.required")) }
        }
        @if v.re_enrol { p { (locale.t("mfa.enrol.re_enrol")) } }
        ol {
            li { (locale.t("mfa.enrol.step_app")) }
            li { (locale.t("mfa.enrol.step_scan")) }
            li { (locale.t("mfa.enrol.step_code")) }
        }
        p { img #qr src=(v.qr) width="220" height="220" alt=(locale.t("mfa.enrol.qr_alt")); }
        p { a #otpauth href=(v.otpauth_uri) { (locale.t("mfa.enrol.open_in_app")) } }
        p { (locale.t("mfa.enrol.manual")) }
        dl {
            dt { (locale.t("mfa.enrol.issuer")) } dd { (v.issuer) }
            dt { (locale.t("mfa.enrol.account")) } dd #totp-account { (v.account) }
            dt { (locale.t("mfa.enrol.key")) } dd { code #totp-key { (v.key) } }
            dt { (locale.t("mfa.enrol.kind")) } dd { (locale.t("mfa.enrol.kind_value")) }
        }
        (error_line(v.error))
        form method="post" action="/account/mfa/enroll" {
            (csrf_field(v.csrf))
            input type="hidden" name="pending_id" value=(v.pending_id);
            @if let Some(r) = v.return_to {
                input type="hidden" name="return_to" value=(r);
            }
            label for="code" { (locale.t("mfa.enrol.code_label")) }
            input #code type="text" name="code" inputmode="numeric"
                autocomplete="one-time-code" maxlength="16" required;
            button type="submit" { (locale.t("mfa.enrol.submit")) }
        }
        @if let (Some(until), Some(r)) = (&v.grace_until, v.return_to) {
            p { (locale.t("mfa.enrol.grace")) " " (until) }
            p { a #skip href=(r) { (locale.t("mfa.enrol.skip")) } }
        }
    };
    layout(locale, product, locale.t("mfa.enrol.title"), body)
}

pub struct CodesView<'a> {
    pub csrf: &'a str,
    pub codes: &'a [String],
    /// Shown after enrolment (true) or after regeneration (false).
    pub enrolled: bool,
    pub continue_to: &'a str,
}

/// The backup codes, shown once, with a download button.
pub fn backup_codes(locale: Locale, product: &str, v: &CodesView) -> Markup {
    let title = if v.enrolled {
        locale.t("mfa.enrolled.title")
    } else {
        locale.t("mfa.codes.title")
    };
    let body = html! {
        h1 { (title) }
        @if v.enrolled { p { (locale.t("mfa.enrolled.done")) } }
        h2 { (locale.t("mfa.codes.heading")) }
        p { (locale.t("mfa.codes.once")) }
        ol #backup-codes {
            @for c in v.codes { li { code.backup-code { (c) } } }
        }
        form method="post" action="/account/mfa/backup-codes/download" {
            (csrf_field(v.csrf))
            input type="hidden" name="codes" value=(v.codes.join(" "));
            button type="submit" { (locale.t("mfa.codes.download")) }
        }
        @if !v.enrolled { p { (locale.t("mfa.codes.invalidated")) } }
        p { a href=(v.continue_to) { (locale.t("mfa.continue")) } }
    };
    layout(locale, product, title, body)
}

pub struct SettingsView {
    pub enabled: bool,
    pub enrolled_at: Option<String>,
    pub remaining: i64,
    pub required: bool,
}

/// `/account/mfa`.
pub fn settings(locale: Locale, product: &str, v: &SettingsView) -> Markup {
    let body = html! {
        h1 { (locale.t("mfa.settings.title")) }
        (summary(locale, v.enabled, v.remaining, false))
        @if let Some(at) = &v.enrolled_at {
            p { (locale.t("mfa.settings.enrolled_at")) " " (at) }
        }
        @if v.enabled {
            p { a href="/account/mfa/backup-codes" { (locale.t("mfa.settings.regenerate")) } }
            p { a href="/account/mfa/enroll" { (locale.t("mfa.settings.re_enrol")) } }
            @if !v.required {
                p { a href="/account/mfa/disable" { (locale.t("mfa.settings.disable")) } }
            }
        } @else {
            p { a href="/account/mfa/enroll" { (locale.t("mfa.settings.enrol")) } }
        }
        @if v.required { p { (locale.t("mfa.settings.required")) } }
        p { a href="/account" { (locale.t("mfa.back_to_account")) } }
    };
    layout(locale, product, locale.t("mfa.settings.title"), body)
}

/// The MFA lines of the account page (and of the settings page, which does not link
/// to itself: `manage_link` false).
pub fn summary(locale: Locale, enabled: bool, remaining: i64, manage_link: bool) -> Markup {
    html! {
        section #mfa {
            p {
                (locale.t("mfa.summary.label")) ": "
                strong #mfa-state {
                    @if enabled { (locale.t("mfa.summary.on")) } @else { (locale.t("mfa.summary.off")) }
                }
            }
            @if enabled {
                p {
                    (locale.t("mfa.summary.remaining")) " "
                    strong #backup-codes-remaining { (remaining) }
                }
                @if remaining <= 2 {
                    p.error { (locale.t("mfa.summary.low")) }
                }
            }
            @if manage_link {
                p { a href="/account/mfa" { (locale.t("mfa.summary.manage")) } }
            }
            p { a href="/account/passkeys" { (locale.t("passkeys.manage")) } }
            p { a href="/account/linked-logins" { (locale.t("federation.manage")) } }
        }
    }
}

/// A confirmation page with one POST button (regenerate codes, turn MFA off).
pub fn confirm(
    locale: Locale,
    product: &str,
    csrf: &str,
    title_key: &str,
    text_key: &str,
    action: &str,
    button_key: &str,
) -> Markup {
    let body = html! {
        h1 { (locale.t(title_key)) }
        p { (locale.t(text_key)) }
        form method="post" action=(action) {
            (csrf_field(csrf))
            button type="submit" { (locale.t(button_key)) }
        }
        p { a href="/account/mfa" { (locale.t("mfa.cancel")) } }
    };
    layout(locale, product, locale.t(title_key), body)
}

pub struct ReauthView<'a> {
    pub csrf: &'a str,
    pub email: &'a str,
    pub return_to: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// `/account/reauth`: enter the password again before a sensitive change.
pub fn reauth(locale: Locale, product: &str, v: &ReauthView) -> Markup {
    let body = html! {
        h1 { (locale.t("reauth.title")) }
        p { (locale.t("reauth.help")) }
        (error_line(v.error))
        form method="post" action="/account/reauth" {
            (csrf_field(v.csrf))
            @if let Some(r) = v.return_to {
                input type="hidden" name="return_to" value=(r);
            }
            input type="text" name="username" value=(v.email) autocomplete="username"
                readonly hidden;
            label for="password" { (locale.t("login.password")) }
            input #password type="password" name="password"
                autocomplete="current-password" maxlength="1024" required autofocus;
            button type="submit" { (locale.t("reauth.submit")) }
        }
    };
    layout(locale, product, locale.t("reauth.title"), body)
}
