//! (Japanese, English) texts of two-step sign-in, MFA settings and re-authentication.
//! Looked up through [`super::i18n::Locale::t`].

pub(super) fn text(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        // The second step at sign-in.
        "mfa.step.title" => ("2段階認証", "Two-step verification"),
        "mfa.step.totp_help" => (
            "認証アプリに表示されている6桁のセキュリティコードを入力してください。",
            "Enter the 6-digit security code shown in your authenticator app.",
        ),
        "mfa.step.step_up" => (
            "続行するには、2段階認証でもう一度本人確認を行ってください。",
            "To continue, confirm it is you with two-step verification.",
        ),
        "mfa.step.totp_label" => ("セキュリティコード（6桁）", "Security code (6 digits)"),
        "mfa.step.submit" => ("認証する", "Verify"),
        "mfa.step.use_backup" => (
            "認証アプリを使えない場合：バックアップコードを使用する",
            "Can't use your app? Use a backup code instead",
        ),
        "mfa.code_wrong" => (
            "コードが正しくないか、有効期限が切れています。次のコードが表示されるまで待ってから、もう一度お試しください。",
            "The code is wrong or has expired. Wait for the next code and try again.",
        ),
        "mfa.code_format" => (
            "セキュリティコードは6桁の数字です。認証アプリに表示されている数字を入力してください。",
            "The security code is 6 digits. Enter the digits shown in your authenticator app.",
        ),
        "mfa.backup.title" => ("バックアップコードでログイン", "Sign in with a backup code"),
        "mfa.backup.help" => (
            "保管しておいたバックアップコードのうち、未使用のものを1つ入力してください。各コードは1回だけ使えます。形式の例：",
            "Enter one of your unused backup codes. Each code works only once. They look like:",
        ),
        "mfa.backup.label" => ("バックアップコード", "Backup code"),
        "mfa.backup.use_app" => (
            "認証アプリのコードを使用する",
            "Use the code from your authenticator app",
        ),
        "mfa.backup_wrong" => (
            "バックアップコードが正しくないか、すでに使用されています。未使用の別のコードをお試しください。",
            "The backup code is wrong or has already been used. Try another unused code.",
        ),
        "mfa.backup_format" => (
            "バックアップコードの形式が正しくありません。入力内容をご確認ください。",
            "That is not the format of a backup code. Check what you typed.",
        ),
        "mfa.expired.title" => ("ログインをやり直してください", "Sign in again"),
        "mfa.no_challenge" => (
            "このログイン手続きは有効期限が切れたか、このブラウザで開始されていません。もう一度ログインしてください。",
            "This sign-in has expired or was not started in this browser. Sign in again.",
        ),
        "mfa.too_many" => (
            "コードの誤りが多すぎるため、このログイン手続きは無効になりました。もう一度ログインしてください。",
            "Too many wrong codes: this sign-in has been cancelled. Sign in again.",
        ),
        "mfa.login_again" => ("ログイン画面へ", "Go to sign-in"),
        "mfa.continue" => ("続ける", "Continue"),
        "mfa.cancel" => ("キャンセル", "Cancel"),
        "mfa.back_to_account" => ("アカウントへ戻る", "Back to your account"),
        // After a backup-code sign-in.
        "mfa.backup_done.title" => (
            "バックアップコードでログインしました",
            "Signed in with a backup code",
        ),
        "mfa.backup_done.remaining" => (
            "使用できるバックアップコードの残り：",
            "Backup codes left:",
        ),
        "mfa.backup_done.low" => (
            "バックアップコードの残りが少なくなっています。認証アプリが使えない場合は、できるだけ早く2段階認証を設定し直し、新しいバックアップコードを保存してください。",
            "You are running out of backup codes. If you cannot use your authenticator app, set up two-step verification again as soon as possible and save the new backup codes.",
        ),
        "mfa.backup_done.advice" => (
            "バックアップコードは一時的なログイン手段です。認証アプリが使えない場合は、2段階認証を設定し直してください。",
            "Backup codes are for emergencies. If you cannot use your authenticator app, set up two-step verification again.",
        ),
        "mfa.backup_done.settings" => ("2段階認証の設定へ", "Two-step verification settings"),
        // Enrolment.
        "mfa.enrol.title" => ("2段階認証を設定する", "Set up two-step verification"),
        "mfa.enrol.required" => (
            "組織のポリシーにより、2段階認証の設定が必要です。",
            "Your organisation requires two-step verification.",
        ),
        "mfa.enrol.re_enrol" => (
            "設定し直すと、これまでの認証アプリの登録とバックアップコードはすべて無効になります。",
            "Setting it up again replaces your current authenticator and invalidates all your backup codes.",
        ),
        "mfa.enrol.step_app" => (
            "スマートフォンに認証アプリ（Google Authenticator など）をインストールします。",
            "Install an authenticator app (such as Google Authenticator) on your phone.",
        ),
        "mfa.enrol.step_scan" => (
            "認証アプリで下のQRコードを読み取ります。",
            "Scan the QR code below with the app.",
        ),
        "mfa.enrol.step_code" => (
            "アプリに表示された6桁のセキュリティコードを入力して「認証する」を押します。",
            "Enter the 6-digit security code the app shows and press Verify.",
        ),
        "mfa.enrol.qr_alt" => (
            "認証アプリで読み取るQRコード",
            "QR code to scan with your authenticator app",
        ),
        "mfa.enrol.open_in_app" => (
            "このデバイスの認証アプリで開く",
            "Open in an authenticator app on this device",
        ),
        "mfa.enrol.manual" => (
            "QRコードを読み取れない場合は、次の「アカウント」と「キー」を認証アプリに手動で入力してください（時間ベース）。",
            "If you cannot scan the QR code, enter this account and key in the app by hand (time-based).",
        ),
        "mfa.enrol.issuer" => ("発行者", "Issuer"),
        "mfa.enrol.account" => ("アカウント", "Account"),
        "mfa.enrol.key" => ("キー", "Key"),
        "mfa.enrol.kind" => ("種類", "Type"),
        "mfa.enrol.kind_value" => ("時間ベース（30秒・6桁）", "Time-based (30 s, 6 digits)"),
        "mfa.enrol.code_label" => ("セキュリティコード", "Security code"),
        "mfa.enrol.submit" => ("認証する", "Verify"),
        "mfa.enrol.grace" => (
            "猶予期間中は、設定を後回しにできます。期限：",
            "You may put this off during the grace period, which ends on",
        ),
        "mfa.enrol.skip" => ("後で設定する", "Set up later"),
        "mfa.stale.title" => ("設定をやり直してください", "Start the setup again"),
        "mfa.stale" => (
            "この設定画面は古くなっています（新しい設定画面を開いたか、有効期限が切れました）。最新の画面のQRコードを読み取ってください。2段階認証は有効になっていません。",
            "This setup page is out of date (a newer one was opened, or it expired). Scan the QR code on the newest page. Two-step verification has not been turned on.",
        ),
        "mfa.stale.again" => ("設定をやり直す", "Start again"),
        "mfa.enrolled.title" => ("2段階認証が有効になりました", "Two-step verification is on"),
        "mfa.enrolled.done" => (
            "次回以降のログインでは、パスワードに加えて認証アプリのセキュリティコードが必要です。",
            "From now on, signing in takes your password and a code from your authenticator app.",
        ),
        // Backup codes.
        "mfa.codes.title" => ("新しいバックアップコード", "New backup codes"),
        "mfa.codes.heading" => ("バックアップコード", "Backup codes"),
        "mfa.codes.once" => (
            "認証アプリが使えないときは、これらのコードでログインできます。各コードは1回だけ使えます。この画面は一度しか表示されません。ダウンロードするか書き留めて、安全な場所に保管してください。",
            "If you cannot use your authenticator app, you can sign in with one of these codes. Each works once. This page is shown only once: download or write them down and keep them somewhere safe.",
        ),
        "mfa.codes.download" => (
            "バックアップコードをダウンロード（.txt）",
            "Download backup codes (.txt)",
        ),
        "mfa.codes.invalidated" => (
            "これまでのバックアップコードは、使用済みかどうかにかかわらず、すべて無効になりました。",
            "All earlier backup codes, used or not, no longer work.",
        ),
        "mfa.codes.file_header" => (
            "のバックアップコード（各コード1回限り有効）",
            "backup codes (each works once)",
        ),
        "mfa.codes.file_footer" => (
            "使用したコードには印を付けてください。新しいコードを発行すると、このコードはすべて無効になります。",
            "Cross out each code you use. Generating new codes invalidates all of these.",
        ),
        "mfa.regen.title" => ("バックアップコードを再発行する", "Generate new backup codes"),
        "mfa.regen.text" => (
            "新しいバックアップコードを発行します。これまでのコードは、使用済みかどうかにかかわらず、すべて無効になります。",
            "This creates a new set of backup codes. All earlier codes, used or not, stop working.",
        ),
        "mfa.regen.button" => ("再発行する", "Generate new codes"),
        // Settings.
        "mfa.settings.title" => ("2段階認証", "Two-step verification"),
        "mfa.settings.enrolled_at" => ("設定日時：", "Set up on:"),
        "mfa.settings.regenerate" => ("バックアップコードを再発行する", "Generate new backup codes"),
        "mfa.settings.re_enrol" => (
            "認証アプリを設定し直す（機種変更など）",
            "Set up the authenticator again (new phone)",
        ),
        "mfa.settings.disable" => ("2段階認証を解除する", "Turn off two-step verification"),
        "mfa.settings.enrol" => ("2段階認証を設定する", "Set up two-step verification"),
        "mfa.settings.required" => (
            "組織のポリシーにより2段階認証は必須のため、解除できません。",
            "Your organisation requires two-step verification, so it cannot be turned off.",
        ),
        "mfa.summary.label" => ("2段階認証", "Two-step verification"),
        "mfa.summary.on" => ("有効", "On"),
        "mfa.summary.off" => ("無効", "Off"),
        "mfa.summary.remaining" => ("未使用のバックアップコード：", "Unused backup codes:"),
        "mfa.summary.low" => (
            "バックアップコードの残りが少なくなっています。再発行してください。",
            "You are running out of backup codes: generate new ones.",
        ),
        "mfa.summary.manage" => ("2段階認証の設定", "Manage two-step verification"),
        "mfa.disable.title" => ("2段階認証を解除する", "Turn off two-step verification"),
        "mfa.disable.text" => (
            "解除すると、パスワードだけでログインできるようになり、バックアップコードはすべて無効になります。解除しますか？",
            "Signing in will take only your password, and all your backup codes will stop working. Turn it off?",
        ),
        "mfa.disable.button" => ("解除する", "Turn off"),
        "mfa.disabled.done" => (
            "2段階認証を解除しました。バックアップコードはすべて無効になりました。",
            "Two-step verification is off. All backup codes have been invalidated.",
        ),
        // Re-authentication.
        "reauth.title" => ("パスワードの再入力", "Confirm your password"),
        "reauth.help" => (
            "セキュリティ設定を変更するため、もう一度パスワードを入力してください。",
            "To change security settings, enter your password again.",
        ),
        "reauth.submit" => ("確認する", "Confirm"),
        "reauth.failed" => ("パスワードが正しくありません。", "The password is incorrect."),
        "error.mfa_not_enabled" => (
            "2段階認証が有効になっていません。",
            "Two-step verification is not on.",
        ),
        "error.mfa_required" => (
            "組織のポリシーにより2段階認証は必須のため、解除できません。",
            "Your organisation requires two-step verification, so it cannot be turned off.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::i18n::Locale;

    #[test]
    fn every_key_used_by_the_mfa_pages_has_both_languages() {
        let sources = [
            include_str!("templates_mfa.rs"),
            include_str!("../authn/mfa/routes.rs"),
            include_str!("../account/mfa.rs"),
            include_str!("../account/reauth.rs"),
        ];
        let mut n = 0;
        for src in sources {
            for part in src.split('"').skip(1).step_by(2) {
                let is_key = (part.starts_with("mfa.") || part.starts_with("reauth."))
                    && part.len() > 5
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
                if is_key {
                    n += 1;
                    assert!(!Locale::Ja.t(part).is_empty(), "{part} has no Japanese");
                    assert!(!Locale::En.t(part).is_empty(), "{part} has no English");
                }
            }
        }
        assert!(n > 50, "found only {n} keys");
        assert_eq!(
            Locale::Ja.t("mfa.code_wrong"),
            "コードが正しくないか、有効期限が切れています。次のコードが表示されるまで待ってから、もう一度お試しください。"
        );
    }
}
