//! Plain-text e-mail templates: the Fluent messages `notify-*` in
//! `src/i18n/locales/<language>/notify.ftl`. Rendered once, when a message is queued.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::Message;
use crate::i18n::Locale;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body_text: String,
}

/// Renders `msg` for `name` (the recipient's display name, or their address).
pub fn render(locale: Locale, product: &str, name: &str, msg: &Message) -> Rendered {
    render_with(locale, product, name, msg, &mut |key, args| {
        locale.t_args(key, args)
    })
}

/// Formats one message: (key, variables) → text.
type Format<'a> = dyn FnMut(&str, &[(&str, &str)]) -> String + 'a;

/// `render`, formatting each message with `fmt` (the tests fail on any Fluent error).
fn render_with(
    locale: Locale,
    product: &str,
    name: &str,
    msg: &Message,
    fmt: &mut Format<'_>,
) -> Rendered {
    let vars = variables(locale, msg);
    let mut args: Vec<(&str, &str)> = vec![("product", product)];
    args.extend(vars.iter().map(|(k, v)| (*k, v.as_str())));
    let kind = msg.kind();
    let subject = fmt(&format!("notify.{kind}.subject"), &args);
    let main = fmt(&format!("notify.{kind}.body"), &args);
    Rendered {
        subject: fmt(
            "notify.subject",
            &[("product", product), ("subject", &subject)],
        ),
        body_text: fmt(
            "notify.body",
            &[("product", product), ("name", name), ("main", &main)],
        ),
    }
}

/// The variables of `msg` (besides `product`), as its messages name them.
fn variables(locale: Locale, msg: &Message) -> Vec<(&'static str, String)> {
    let decision = |approved: bool| if approved { "approved" } else { "declined" };
    match msg {
        Message::Invitation { link } | Message::PasswordChangeRequested { link } => {
            vec![("link", link.clone())]
        }
        Message::PasswordSetByAdmin
        | Message::AccountUnlocked
        | Message::AccountSuspended
        | Message::AccountUnsuspended
        | Message::MfaReset => vec![],
        Message::AccountLocked { until: Some(t) } => {
            vec![("unlock", "automatic".into()), ("until", time(locale, *t))]
        }
        Message::AccountLocked { until: None } => vec![("unlock", "manual".into())],
        Message::PasskeyAdded { name } => vec![("key_name", name.clone())],
        Message::LinkedLoginAdded { provider } => vec![("provider", provider.clone())],
        Message::LinkedLoginRemoved { provider, by_admin } => vec![
            ("provider", provider.clone()),
            ("by", if *by_admin { "admin" } else { "user" }.into()),
        ],
        Message::PasskeyRemoved { name, by_admin } => vec![
            ("key_name", name.clone()),
            ("by", if *by_admin { "admin" } else { "user" }.into()),
        ],
        Message::SupportGrantRedeemed {
            support_name,
            expires_at,
        } => vec![
            ("support_name", support_name.clone()),
            ("expires_at", time(locale, *expires_at)),
        ],
        Message::SupportSessionEnded { support_name } => {
            vec![("support_name", support_name.clone())]
        }
        Message::SupportRequestPending {
            user_name,
            reason,
            approve_link,
        } => vec![
            ("user_name", user_name.clone()),
            ("reason", reason.clone()),
            ("approve_link", approve_link.clone()),
        ],
        Message::SupportRequestDecided {
            user_name,
            approved,
        } => vec![
            ("user_name", user_name.clone()),
            ("decision", decision(*approved).into()),
        ],
        Message::DeviceApprovalPending {
            user_name,
            app_name,
            approve_link,
        } => vec![
            ("user_name", user_name.clone()),
            ("app_name", app_name.clone()),
            ("approve_link", approve_link.clone()),
        ],
        Message::DeviceApprovalDecided { app_name, approved } => vec![
            ("app_name", app_name.clone()),
            ("decision", decision(*approved).into()),
        ],
    }
}

/// `t` in the language's `notify-datetime` pattern (ISO 8601 if that pattern is broken).
fn time(locale: Locale, t: DateTime<Utc>) -> String {
    let mut out = String::new();
    if write!(out, "{}", t.format(locale.t("notify.datetime"))).is_err() {
        tracing::warn!(
            locale = locale.tag(),
            "notify-datetime is not a valid pattern"
        );
        out = t.format("%Y-%m-%d %H:%M UTC").to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn all() -> Vec<Message> {
        let t = Utc.with_ymd_and_hms(2026, 4, 1, 9, 5, 0).unwrap();
        vec![
            Message::Invitation {
                link: "https://id.example.com/invite/abc".into(),
            },
            Message::PasswordChangeRequested {
                link: "https://id.example.com/account/password".into(),
            },
            Message::PasswordSetByAdmin,
            Message::AccountLocked { until: Some(t) },
            Message::AccountLocked { until: None },
            Message::AccountUnlocked,
            Message::AccountSuspended,
            Message::AccountUnsuspended,
            Message::MfaReset,
            Message::PasskeyAdded {
                name: "YubiKey".into(),
            },
            Message::LinkedLoginRemoved {
                provider: "Google".into(),
                by_admin: true,
            },
            Message::LinkedLoginAdded {
                provider: "Google".into(),
            },
            Message::PasskeyRemoved {
                name: "iPhone".into(),
                by_admin: true,
            },
            Message::PasskeyRemoved {
                name: "iPhone".into(),
                by_admin: false,
            },
            Message::SupportGrantRedeemed {
                support_name: "Sato".into(),
                expires_at: t,
            },
            Message::SupportSessionEnded {
                support_name: "Sato".into(),
            },
            Message::SupportRequestPending {
                user_name: "Tanaka".into(),
                reason: "cannot sign in".into(),
                approve_link: "https://id.example.com/approve/1".into(),
            },
            Message::SupportRequestDecided {
                user_name: "Tanaka".into(),
                approved: true,
            },
            Message::SupportRequestDecided {
                user_name: "Tanaka".into(),
                approved: false,
            },
            Message::DeviceApprovalPending {
                user_name: "Tanaka".into(),
                app_name: "Viewer".into(),
                approve_link: "https://id.example.com/device/requests/1".into(),
            },
            Message::DeviceApprovalDecided {
                app_name: "Viewer".into(),
                approved: true,
            },
        ]
    }

    #[test]
    fn every_message_renders_in_both_languages() {
        for msg in all() {
            let en = render(Locale::EN, "Acme ID", "Alice", &msg);
            let ja = render(Locale::JA, "Acme ID", "アリス", &msg);
            assert!(en.subject.starts_with("[Acme ID] "), "{en:?}");
            assert!(ja.subject.starts_with("【Acme ID】"), "{ja:?}");
            assert!(en.body_text.starts_with("Hello Alice,\n\n"), "{en:?}");
            assert!(ja.body_text.starts_with("アリス 様\n\n"), "{ja:?}");
            assert!(en.body_text.contains("Acme ID"));
            assert!(ja.body_text.contains("Acme ID"));
            // English has no Japanese text; Japanese is Japanese.
            assert!(en.body_text.is_ascii(), "{en:?}");
            assert!(!ja.subject.is_ascii(), "{ja:?}");
            for r in [&en, &ja] {
                assert!(!r.subject.contains('\n'), "{r:?}");
                assert!(!r.body_text.contains('{'), "unfilled placeholder: {r:?}");
            }
        }
    }

    /// Renders with every Fluent error a panic: each variable a message names in any
    /// language is given by `variables`, and every message exists.
    fn render_strict(locale: Locale, product: &str, name: &str, msg: &Message) -> Rendered {
        render_with(locale, product, name, msg, &mut |key, args| {
            let s = locale
                .t_args_checked(key, args)
                .unwrap_or_else(|(s, e)| panic!("{locale:?} {key}: {e:?} ({s:?})"));
            assert!(!s.is_empty(), "{locale:?}: no message {key}");
            s
        })
    }

    #[test]
    fn every_message_renders_without_fluent_errors() {
        for locale in Locale::all() {
            for msg in all() {
                let strict = render_strict(locale, "Acme ID", "Alice", &msg);
                assert_eq!(strict, render(locale, "Acme ID", "Alice", &msg));
                assert!(strict.body_text.ends_with(".\n") || strict.body_text.ends_with("。\n"));
                assert!(!strict.body_text.ends_with("\n\n"), "{strict:?}");
            }
            assert!(!time(locale, Utc::now()).is_empty());
        }
    }

    /// Every `notify-*` message of the Fluent files is one that `render` uses.
    #[test]
    fn no_unused_notify_messages() {
        let mut used: std::collections::BTreeSet<String> =
            ["notify-subject", "notify-body", "notify-datetime"]
                .map(String::from)
                .into();
        for msg in all() {
            for part in ["subject", "body"] {
                used.insert(format!("notify-{}-{part}", msg.kind()));
            }
        }
        let ftl = include_str!("../i18n/locales/en/notify.ftl");
        let defined: std::collections::BTreeSet<String> = ftl
            .lines()
            .filter(|l| l.starts_with("notify-"))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(defined, used);
    }

    #[test]
    fn links_and_names_are_in_the_body() {
        for locale in Locale::all() {
            for msg in all() {
                let r = render(locale, "Monban", "Bob", &msg);
                match &msg {
                    Message::Invitation { link } | Message::PasswordChangeRequested { link } => {
                        assert!(r.body_text.contains(&format!("\n\n{link}")), "{r:?}")
                    }
                    Message::SupportRequestPending {
                        user_name,
                        reason,
                        approve_link,
                    } => {
                        assert!(r.body_text.contains(approve_link.as_str()));
                        assert!(r.body_text.contains(user_name.as_str()));
                        assert!(r.body_text.contains(reason.as_str()));
                    }
                    Message::SupportGrantRedeemed { support_name, .. }
                    | Message::SupportSessionEnded { support_name } => {
                        assert!(r.body_text.contains(support_name.as_str()))
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn specific_wording() {
        let t = Utc.with_ymd_and_hms(2026, 4, 1, 9, 5, 0).unwrap();
        let msg = Message::AccountLocked { until: Some(t) };
        let en = render(Locale::EN, "Monban", "Alice", &msg);
        assert_eq!(en.subject, "[Monban] Your account has been locked");
        assert!(en
            .body_text
            .contains("unlocked automatically at 2026-04-01 09:05 UTC."));
        let ja = render(Locale::JA, "Monban", "山田 太郎", &msg);
        assert_eq!(ja.subject, "【Monban】アカウントがロックされました");
        assert!(ja.body_text.starts_with("山田 太郎 様\n\n"));
        assert!(ja
            .body_text
            .contains("2026年4月1日 09:05（UTC） に自動的に解除されます。"));
        let ja = render(
            Locale::JA,
            "Monban",
            "x",
            &Message::AccountLocked { until: None },
        );
        assert!(ja.body_text.contains("管理者が解除するまで"));
        let d = render(
            Locale::JA,
            "Monban",
            "x",
            &Message::SupportRequestDecided {
                user_name: "y".into(),
                approved: false,
            },
        );
        assert_eq!(d.subject, "【Monban】サポートアクセス申請が却下されました");
    }
}
