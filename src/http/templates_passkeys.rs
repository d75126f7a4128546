//! Passkey parts of the pages: the account page that lists and registers passkeys, and
//! the passkey button of the login page and of the second step. The buttons work
//! through `/static/passkey.js` (WebAuthn needs script); they stay hidden until the
//! script finds WebAuthn in the browser, so a browser without it sees only the forms
//! that work without.

use maud::{html, Markup};

use super::templates::layout;
use crate::authn::passkeys::PasskeyView;
use crate::i18n::Locale;

/// The script that runs the WebAuthn ceremonies.
pub fn script() -> Markup {
    html! { script src="/static/passkey.js" defer {} }
}

/// The error line the script writes into.
fn error_slot() -> Markup {
    html! { p #passkey-error.error role="alert" hidden {} }
}

/// A passkey sign-in button. `options`/`finish`: the JSON endpoints of the ceremony.
/// `conditional`: also offer the passkeys in the user-name field's autofill.
pub fn signin_button(
    locale: Locale,
    csrf: &str,
    options: &str,
    finish: &str,
    return_to: Option<&str>,
    conditional: bool,
) -> Markup {
    html! {
        section.passkey hidden data-passkey-section {
            (error_slot())
            button type="button" data-action="passkey-signin" data-options=(options)
                data-finish=(finish) data-csrf=(csrf) data-return-to=[return_to]
                data-conditional=[conditional.then_some("1")]
                data-failed=(locale.t("passkeys.failed")) {
                (locale.t("passkeys.signin"))
            }
        }
        (script())
    }
}

pub struct AccountPasskeysView<'a> {
    pub csrf: &'a str,
    pub passkeys: &'a [PasskeyView],
    /// Why passkeys are off, localised (then nothing can be registered).
    pub off_reason: Option<&'a str>,
    /// Where to go after registering (a sign-on that asked for a passkey).
    pub return_to: Option<&'a str>,
    /// A localised notice (done, or why something was refused).
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The user has a second factor but no unused backup code.
    pub no_backup_codes: bool,
    /// The user's language for dates.
    pub date: fn(chrono::DateTime<chrono::Utc>) -> String,
}

/// `/account/passkeys`.
pub fn account(locale: Locale, product: &str, v: &AccountPasskeysView) -> Markup {
    let body = html! {
        h1 { (locale.t("passkeys.title")) }
        p { (locale.t("passkeys.intro")) }
        @if let Some(n) = v.notice { p.notice role="status" { (n) } }
        @if let Some(e) = v.error { p.error role="alert" { (e) } }
        @if let Some(why) = v.off_reason {
            p.error #passkeys-off { (locale.t("passkeys.off")) " " (why) }
        } @else {
            @if v.return_to.is_some() { p { (locale.t("passkeys.required")) } }
            form.passkey #passkey-register hidden data-passkey-section {
                (error_slot())
                label for="passkey-name" { (locale.t("passkeys.name")) }
                input #passkey-name type="text" name="name" maxlength="64"
                    placeholder=(locale.t("passkeys.name_hint")) autocomplete="off";
                button type="button" data-action="passkey-register"
                    data-options="/account/passkeys/options" data-finish="/account/passkeys/finish"
                    data-csrf=(v.csrf) data-return-to=[v.return_to]
                    data-failed=(locale.t("passkeys.failed")) {
                    (locale.t("passkeys.register"))
                }
            }
            noscript { p.error { (locale.t("passkeys.noscript")) } }
            (script())
        }
        h2 { (locale.t("passkeys.list")) }
        @if v.no_backup_codes {
            p #no-backup-codes {
                (locale.t("passkeys.no_backup_codes")) " "
                a href="/account/mfa/backup-codes" { (locale.t("passkeys.make_backup_codes")) }
            }
        }
        @if v.passkeys.is_empty() {
            p #passkeys-none { (locale.t("passkeys.none")) }
        } @else {
            div.table-wrap tabindex="0" {
                table #passkeys {
                    thead { tr {
                        th { (locale.t("passkeys.col_name")) }
                        th { (locale.t("passkeys.col_kind")) }
                        th { (locale.t("passkeys.col_created")) }
                        th { (locale.t("passkeys.col_used")) }
                        th { (locale.t("passkeys.col_actions")) }
                    } }
                    tbody {
                        @for p in v.passkeys {
                            tr data-passkey-id=(p.id) {
                                td { (p.name) }
                                td { (kind_label(locale, &p.kind)) }
                                td { ((v.date)(p.created_at)) }
                                td { @match p.last_used_at { Some(t) => ((v.date)(t)), None => "—" } }
                                td {
                                    form.action method="post" action=(format!("/account/passkeys/{}/rename", p.id)) {
                                        input type="hidden" name="csrf_token" value=(v.csrf);
                                        label.visually-hidden for=(format!("rename-{}", p.id)) { (locale.t("passkeys.name")) }
                                        input id=(format!("rename-{}", p.id)) type="text" name="name" value=(p.name) maxlength="64" required;
                                        button type="submit" data-action="passkey-rename" { (locale.t("passkeys.rename")) }
                                    }
                                    form.action method="post" action=(format!("/account/passkeys/{}/remove", p.id)) {
                                        input type="hidden" name="csrf_token" value=(v.csrf);
                                        button.danger type="submit" data-action="passkey-remove" { (locale.t("passkeys.remove")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/account" { (locale.t("mfa.back_to_account")) } }
    };
    layout(locale, product, locale.t("passkeys.title"), body)
}

/// "Security key" or "Synced passkey".
pub fn kind_label(locale: Locale, kind: &str) -> &str {
    if kind == crate::sessions::AMR_SWK {
        locale.t("passkeys.kind_swk")
    } else {
        locale.t("passkeys.kind_hwk")
    }
}
