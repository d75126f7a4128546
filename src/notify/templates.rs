//! Plain-text e-mail templates, Japanese and English. Rendered once, when a message
//! is queued.

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
    let (subject, main) = match locale {
        Locale::Ja => ja(product, msg),
        Locale::En => en(product, msg),
    };
    let body_text = match locale {
        Locale::Ja => format!(
            "{name} 様\n\n{main}\n\n--\nこのメールは {product} から自動送信されています。\
             このメールに返信されてもお答えできません。\n"
        ),
        Locale::En => format!(
            "Hello {name},\n\n{main}\n\n--\nThis is an automated message from {product}. \
             Replies to it are not read.\n"
        ),
    };
    Rendered {
        subject: match locale {
            Locale::Ja => format!("【{product}】{subject}"),
            Locale::En => format!("[{product}] {subject}"),
        },
        body_text,
    }
}

fn time(locale: Locale, t: DateTime<Utc>) -> String {
    match locale {
        Locale::Ja => t.format("%Y年%-m月%-d日 %H:%M（UTC）").to_string(),
        Locale::En => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

fn en(p: &str, msg: &Message) -> (String, String) {
    const CONTACT: &str =
        "If you did not expect this, please contact your administrator immediately.";
    match msg {
        Message::Invitation { link } => (
            format!("Set up your {p} account"),
            format!(
                "An account has been created for you on {p}. To start using it, \
                 choose your password at the link below:\n\n{link}\n\n\
                 The link works only once and expires after a while. If it has expired, \
                 ask your administrator to send a new invitation."
            ),
        ),
        Message::PasswordChangeRequested { link } => (
            "Please change your password".into(),
            format!(
                "Your administrator has asked you to change your {p} password. You will be \
                 asked to choose a new one the next time you sign in. To change it now, \
                 use the link below:\n\n{link}"
            ),
        ),
        Message::PasswordSetByAdmin => (
            "Your password was changed by an administrator".into(),
            format!(
                "An administrator has set a new password for your {p} account, and you \
                 have been signed out everywhere. Please ask your administrator for the \
                 new password to sign in again.\n\n{CONTACT}"
            ),
        ),
        Message::AccountLocked { until } => {
            let when = match until {
                Some(t) => format!(
                    "It will be unlocked automatically at {}.",
                    time(Locale::En, *t)
                ),
                None => "It stays locked until an administrator unlocks it.".into(),
            };
            (
                "Your account has been locked".into(),
                format!(
                    "Your {p} account has been locked after repeated failed sign-in \
                     attempts. {when}\n\nIf these attempts were not yours, someone may be \
                     trying to get into your account: please tell your administrator."
                ),
            )
        }
        Message::AccountUnlocked => (
            "Your account has been unlocked".into(),
            format!("Your {p} account has been unlocked. You can sign in again."),
        ),
        Message::AccountSuspended => (
            "Your account has been suspended".into(),
            format!(
                "An administrator has suspended your {p} account. While it is suspended \
                 you cannot sign in, and you have been signed out everywhere. Your data \
                 is kept.\n\nFor details, please contact your administrator."
            ),
        ),
        Message::AccountUnsuspended => (
            "Your account has been reinstated".into(),
            format!(
                "An administrator has lifted the suspension of your {p} account. \
                 You can sign in again."
            ),
        ),
        Message::MfaReset => (
            "Two-step sign-in has been reset".into(),
            format!(
                "An administrator has turned off two-step sign-in (MFA) for your {p} \
                 account: your authenticator app and backup codes no longer work. Please \
                 set up two-step sign-in again after you sign in.\n\n{CONTACT}"
            ),
        ),
        Message::SupportGrantRedeemed {
            support_name,
            expires_at,
        } => (
            "Support staff are accessing your account".into(),
            format!(
                "{support_name} from support has started working in your {p} account with \
                 the access you granted. This access ends at {} at the latest.\n\n\
                 If you did not grant support access, please contact your administrator \
                 immediately.",
                time(Locale::En, *expires_at)
            ),
        ),
        Message::SupportSessionEnded { support_name } => (
            "Support session ended".into(),
            format!("The support session of {support_name} in your {p} account has ended."),
        ),
        Message::SupportRequestPending {
            user_name,
            reason,
            approve_link,
        } => (
            "Support access request awaiting approval".into(),
            format!(
                "Support access to the account of {user_name} has been requested and is \
                 waiting for your decision.\n\nReason: {reason}\n\n\
                 Review the request here:\n\n{approve_link}"
            ),
        ),
        Message::SupportRequestDecided {
            user_name,
            approved,
        } => {
            let word = if *approved { "approved" } else { "declined" };
            (
                format!("Support access request {word}"),
                format!(
                    "Your request for support access to the account of {user_name} has been \
                     {word}."
                ),
            )
        }
        Message::DeviceApprovalPending {
            user_name,
            app_name,
            approve_link,
        } => (
            "Device registration awaiting approval".into(),
            format!(
                "{user_name} has connected a device to {app_name}. The device gets access \
                 only after an administrator approves it.\n\n\
                 Review the request here (you will be asked to sign in):\n\n{approve_link}"
            ),
        ),
        Message::DeviceApprovalDecided { app_name, approved } => {
            let word = if *approved { "approved" } else { "declined" };
            (
                format!("Device registration {word}"),
                format!(
                    "An administrator has {word} the device you connected to {app_name} \
                     with your {p} account."
                ),
            )
        }
    }
}

fn ja(p: &str, msg: &Message) -> (String, String) {
    const CONTACT: &str = "お心当たりのない場合は、至急管理者にご連絡ください。";
    match msg {
        Message::Invitation { link } => (
            "アカウント登録のご案内".into(),
            format!(
                "{p} にあなたのアカウントが作成されました。\
                 下記のリンクからパスワードを設定して、ご利用を開始してください。\n\n{link}\n\n\
                 このリンクは一度だけ使用でき、有効期限があります。期限が切れた場合は、\
                 管理者に招待の再送をご依頼ください。"
            ),
        ),
        Message::PasswordChangeRequested { link } => (
            "パスワード変更のお願い".into(),
            format!(
                "管理者から {p} のパスワードの変更が求められています。\
                 次回のサインイン時に新しいパスワードを設定してください。\
                 今すぐ変更する場合は、下記のリンクをご利用ください。\n\n{link}"
            ),
        ),
        Message::PasswordSetByAdmin => (
            "管理者によりパスワードが変更されました".into(),
            format!(
                "管理者が {p} アカウントのパスワードを新しく設定しました。\
                 これに伴い、すべての端末でサインアウトされています。\
                 新しいパスワードを管理者にご確認のうえ、再度サインインしてください。\n\n{CONTACT}"
            ),
        ),
        Message::AccountLocked { until } => {
            let when = match until {
                Some(t) => format!("{} に自動的に解除されます。", time(Locale::Ja, *t)),
                None => "管理者が解除するまでロックされたままとなります。".into(),
            };
            (
                "アカウントがロックされました".into(),
                format!(
                    "サインインの失敗が続いたため、{p} アカウントをロックしました。{when}\n\n\
                     お心当たりのない場合は、第三者による不正アクセスの可能性があります。\
                     管理者にご連絡ください。"
                ),
            )
        }
        Message::AccountUnlocked => (
            "アカウントのロックが解除されました".into(),
            format!("{p} アカウントのロックが解除されました。再びサインインいただけます。"),
        ),
        Message::AccountSuspended => (
            "アカウントが利用停止になりました".into(),
            format!(
                "管理者により {p} アカウントが利用停止になりました。\
                 停止中はサインインできず、すべての端末でサインアウトされています。\
                 アカウントのデータは保持されています。\n\n詳しくは管理者にお問い合わせください。"
            ),
        ),
        Message::AccountUnsuspended => (
            "アカウントの利用停止が解除されました".into(),
            format!(
                "管理者により {p} アカウントの利用停止が解除されました。\
                 再びサインインいただけます。"
            ),
        ),
        Message::MfaReset => (
            "2段階認証がリセットされました".into(),
            format!(
                "管理者により {p} アカウントの2段階認証（MFA）がリセットされました。\
                 これまでの認証アプリとバックアップコードは使用できません。\
                 サインイン後、2段階認証を改めて設定してください。\n\n{CONTACT}"
            ),
        ),
        Message::SupportGrantRedeemed {
            support_name,
            expires_at,
        } => (
            "サポート担当者がアカウントにアクセスしています".into(),
            format!(
                "あなたが許可したサポートアクセスにより、サポート担当者（{support_name}）が \
                 {p} アカウントでの作業を開始しました。このアクセスは遅くとも {} に終了します。\n\n\
                 サポートアクセスを許可した覚えがない場合は、至急管理者にご連絡ください。",
                time(Locale::Ja, *expires_at)
            ),
        ),
        Message::SupportSessionEnded { support_name } => (
            "サポートセッションが終了しました".into(),
            format!(
                "サポート担当者（{support_name}）による {p} アカウントへのアクセスが終了しました。"
            ),
        ),
        Message::SupportRequestPending {
            user_name,
            reason,
            approve_link,
        } => (
            "サポートアクセスの承認依頼".into(),
            format!(
                "{user_name} さんのアカウントへのサポートアクセスが申請され、承認待ちとなっています。\n\n\
                 理由: {reason}\n\n下記のリンクから内容をご確認ください。\n\n{approve_link}"
            ),
        ),
        Message::SupportRequestDecided {
            user_name,
            approved,
        } => {
            let word = if *approved { "承認" } else { "却下" };
            (
                format!("サポートアクセス申請が{word}されました"),
                format!(
                    "{user_name} さんのアカウントへのサポートアクセス申請が{word}されました。"
                ),
            )
        }
        Message::DeviceApprovalPending {
            user_name,
            app_name,
            approve_link,
        } => (
            "端末登録の承認依頼".into(),
            format!(
                "{user_name} さんが {app_name} に端末を登録しました。管理者が承認するまで、\
                 この端末は利用できません。\n\n\
                 下記のリンクから内容をご確認ください（サインインが必要です）。\n\n{approve_link}"
            ),
        ),
        Message::DeviceApprovalDecided { app_name, approved } => {
            let word = if *approved { "承認" } else { "却下" };
            (
                format!("端末登録が{word}されました"),
                format!(
                    "{p} アカウントで {app_name} に登録した端末が、管理者によって{word}されました。"
                ),
            )
        }
    }
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
            let en = render(Locale::En, "Acme ID", "Alice", &msg);
            let ja = render(Locale::Ja, "Acme ID", "アリス", &msg);
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

    #[test]
    fn links_and_names_are_in_the_body() {
        for locale in [Locale::En, Locale::Ja] {
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
        let en = render(Locale::En, "Monban", "Alice", &msg);
        assert_eq!(en.subject, "[Monban] Your account has been locked");
        assert!(en
            .body_text
            .contains("unlocked automatically at 2026-04-01 09:05 UTC."));
        let ja = render(Locale::Ja, "Monban", "山田 太郎", &msg);
        assert_eq!(ja.subject, "【Monban】アカウントがロックされました");
        assert!(ja.body_text.starts_with("山田 太郎 様\n\n"));
        assert!(ja
            .body_text
            .contains("2026年4月1日 09:05（UTC） に自動的に解除されます。"));
        let ja = render(
            Locale::Ja,
            "Monban",
            "x",
            &Message::AccountLocked { until: None },
        );
        assert!(ja.body_text.contains("管理者が解除するまで"));
        let d = render(
            Locale::Ja,
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
