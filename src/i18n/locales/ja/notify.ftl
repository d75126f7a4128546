### 利用者・管理者へのメール（src/notify/templates.rs）。プレーンテキスト。
###
### どのメッセージにも $product（製品名、`ui.product_name`）が渡されます。ほかの変数は
### 各メッセージの上に記載しています。複数行のテキストは改行がそのまま残るため、段落は
### 1行で書き、空行はメールの空行になります。

## すべてのメッセージの枠。

# $subject: メッセージの件名（下記の *-subject）。
notify-subject = 【{ $product }】{ $subject }
# $name: 受信者の表示名（なければメールアドレス）。$main: メッセージ本文（下記の
# *-body）。メールは改行で終わります（{ "" }）。
notify-body =
    { $name } 様

    { $main }

    --
    このメールは { $product } から自動送信されています。このメールに返信されてもお答えできません。
    { "" }
# メッセージ中の日時（$until、$expires_at）の書き方：chrono の strftime 形式
# （https://docs.rs/chrono/latest/chrono/format/strftime/）、UTC。
notify-datetime = %Y年%-m月%-d日 %H:%M（UTC）

-contact-admin = お心当たりのない場合は、至急管理者にご連絡ください。

## メッセージ。

# $link: パスワードを設定するリンク。
notify-invitation-subject = アカウント登録のご案内
notify-invitation-body =
    { $product } にあなたのアカウントが作成されました。下記のリンクからパスワードを設定して、ご利用を開始してください。

    { $link }

    このリンクは一度だけ使用でき、有効期限があります。期限が切れた場合は、管理者に招待の再送をご依頼ください。

# $link: パスワードを変更するリンク。
notify-password_change_requested-subject = パスワード変更のお願い
notify-password_change_requested-body =
    管理者から { $product } のパスワードの変更が求められています。次回のサインイン時に新しいパスワードを設定してください。今すぐ変更する場合は、下記のリンクをご利用ください。

    { $link }

notify-password_set_by_admin-subject = 管理者によりパスワードが変更されました
notify-password_set_by_admin-body =
    管理者が { $product } アカウントのパスワードを新しく設定しました。これに伴い、すべての端末でサインアウトされています。新しいパスワードを管理者にご確認のうえ、再度サインインしてください。

    { -contact-admin }

# $unlock: "automatic"（このとき $until: 解除日時）または "manual"（管理者のみ解除）。
notify-account_locked-subject = アカウントがロックされました
notify-account_locked-body =
    サインインの失敗が続いたため、{ $product } アカウントをロックしました。{ $unlock ->
        [automatic] { $until } に自動的に解除されます。
       *[manual] 管理者が解除するまでロックされたままとなります。
    }

    お心当たりのない場合は、第三者による不正アクセスの可能性があります。管理者にご連絡ください。

notify-account_unlocked-subject = アカウントのロックが解除されました
notify-account_unlocked-body = { $product } アカウントのロックが解除されました。再びサインインいただけます。

notify-account_suspended-subject = アカウントが利用停止になりました
notify-account_suspended-body =
    管理者により { $product } アカウントが利用停止になりました。停止中はサインインできず、すべての端末でサインアウトされています。アカウントのデータは保持されています。

    詳しくは管理者にお問い合わせください。

notify-account_unsuspended-subject = アカウントの利用停止が解除されました
notify-account_unsuspended-body = 管理者により { $product } アカウントの利用停止が解除されました。再びサインインいただけます。

notify-mfa_reset-subject = 2段階認証がリセットされました
notify-mfa_reset-body =
    管理者により { $product } アカウントの2段階認証（MFA）がリセットされました。これまでの認証アプリ、パスキー、バックアップコードは使用できません。サインイン後、2段階認証を改めて設定してください。

    { -contact-admin }

# $key_name: ユーザーが付けたパスキーの名前。
notify-passkey_added-subject = アカウントにパスキーが追加されました
notify-passkey_added-body =
    { $product } アカウントにパスキー（セキュリティキー）「{ $key_name }」が追加されました。今後このパスキーでサインインできます。

    追加した覚えがない場合は、アカウントのページから削除し、至急管理者にご連絡ください。

# $key_name: パスキーの名前。$by: admin または user。
notify-passkey_removed-subject = アカウントからパスキーが削除されました
notify-passkey_removed-body =
    { $by ->
        [admin] 管理者により
       *[user] お客様の操作により
    } { $product } アカウントからパスキー「{ $key_name }」が削除されました。このパスキーではサインインできなくなります。

    { -contact-admin }

# $provider: 外部プロバイダーの名前。$by: admin または user。
notify-linked_login_removed-subject = アカウントから外部サービスのログインが解除されました
notify-linked_login_removed-body =
    { $by ->
        [admin] 管理者により
       *[user] お客様の操作により
    } { $product } アカウントと { $provider } アカウントの連携が解除されました。今後 { $provider } ではサインインできません。これを使ったセッションは終了しました。

    { -contact-admin }

# $provider: 外部プロバイダーの名前。
notify-linked_login_added-subject = アカウントに外部サービスのログインが連携されました
notify-linked_login_added-body =
    { $provider } アカウントが { $product } アカウントに連携されました。今後 { $provider } でサインインできます。

    { -contact-admin }

# $support_name: サポート担当者。$expires_at: アクセスの終了日時。
notify-support_grant_redeemed-subject = サポート担当者がアカウントにアクセスしています
notify-support_grant_redeemed-body =
    あなたが許可したサポートアクセスにより、サポート担当者（{ $support_name }）が { $product } アカウントでの作業を開始しました。このアクセスは遅くとも { $expires_at } に終了します。

    サポートアクセスを許可した覚えがない場合は、至急管理者にご連絡ください。

# $support_name: サポート担当者。
notify-support_session_ended-subject = サポートセッションが終了しました
notify-support_session_ended-body = サポート担当者（{ $support_name }）による { $product } アカウントへのアクセスが終了しました。

# 管理者へ。$user_name: 対象のアカウント。$reason: 申請理由（担当者の記入どおり）。
# $approve_link: 申請のページ。
notify-support_request_pending-subject = サポートアクセスの承認依頼
notify-support_request_pending-body =
    { $user_name } さんのアカウントへのサポートアクセスが申請され、承認待ちとなっています。

    理由: { $reason }

    下記のリンクから内容をご確認ください。

    { $approve_link }

# 担当者へ。$user_name: 対象のアカウント。$decision: "approved" または "declined"。
notify-support_request_decided-subject = サポートアクセス申請が{ $decision ->
        [approved] 承認
       *[declined] 却下
    }されました
notify-support_request_decided-body = { $user_name } さんのアカウントへのサポートアクセス申請が{ $decision ->
        [approved] 承認
       *[declined] 却下
    }されました。

# 管理者へ。$user_name: 端末を登録した利用者。$app_name: アプリ。$approve_link: 申請のページ。
notify-device_approval_pending-subject = 端末登録の承認依頼
notify-device_approval_pending-body =
    { $user_name } さんが { $app_name } に端末を登録しました。管理者が承認するまで、この端末は利用できません。

    下記のリンクから内容をご確認ください（サインインが必要です）。

    { $approve_link }

# 利用者へ。$app_name: アプリ。$decision: "approved" または "declined"。
notify-device_approval_decided-subject = 端末登録が{ $decision ->
        [approved] 承認
       *[declined] 却下
    }されました
notify-device_approval_decided-body = { $product } アカウントで { $app_name } に登録した端末が、管理者によって{ $decision ->
        [approved] 承認
       *[declined] 却下
    }されました。
