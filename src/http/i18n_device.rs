//! (Japanese, English) texts of the device authorization pages (RFC 8628).
//! Looked up through [`super::i18n::Locale::t`].

pub(super) fn text(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "device.title" => ("端末の接続", "Connect a device"),
        "device.enter" => (
            "端末に表示されているコードを入力してください。",
            "Enter the code shown on your device.",
        ),
        "device.code_label" => ("コード", "Code"),
        "device.continue" => ("次へ", "Continue"),
        "device.bad_code" => (
            "このコードは無効か、有効期限が切れているか、すでに使用されています。端末に表示されているコードを確認してください。",
            "This code is not valid, has expired or has already been used. Check the code shown on your device.",
        ),
        "device.asks" => (
            "が、あなたのアカウントで次の情報へのアクセスを求めています。",
            "is asking for access to the following from your account.",
        ),
        "device.account" => ("アカウント：", "Account:"),
        "device.check_code" => (
            "端末に表示されているコードと一致することを確認してください：",
            "Make sure it matches the code on your device:",
        ),
        "device.needs_admin" => (
            "このアプリは、あなたの許可に加えて管理者の承認が必要です。承認されるまで端末は利用できません。",
            "This app also needs an administrator's approval after yours. The device cannot be used until then.",
        ),
        "device.done" => (
            "端末を接続しました。端末に戻って操作を続けてください。",
            "The device is connected. Go back to your device to continue.",
        ),
        "device.awaiting_admin" => (
            "許可しました。管理者が承認すると端末が利用できるようになります。結果はメールでお知らせします。",
            "Allowed. The device can be used once an administrator approves it; you will be told by e-mail.",
        ),
        "device.denied" => (
            "端末の接続を拒否しました。",
            "You denied the device's request.",
        ),
        "device.approval_title" => ("端末登録の承認", "Approve a device"),
        "device.scope" => ("アクセス範囲：", "Access:"),
        "device.status" => ("状態：", "Status:"),
        _ => return None,
    })
}
