### 画面のテキスト：ログイン、アカウント、ログアウト、エラー、パスワード、サポート、アクセスの許可。
### メッセージ `login-title` は Rust では `locale.t("login.title")`。

# この言語の名前（ほかの言語の画面の言語切り替えリンクに表示）。
lang-name = 日本語
login-title = ログイン
login-username = メールアドレスまたはログインID
login-password = パスワード
login-submit = ログイン
login-failed = ログインIDまたはパスワードが正しくありません。
login-locked = ログインの失敗が続いたため、このアカウントはロックされています。しばらくしてから再度お試しいただくか、管理者にお問い合わせください。
login-suspended = このアカウントは管理者によって利用停止されています。管理者にお問い合わせください。
login-missing = ログインIDとパスワードを入力してください。
account-title = アカウント
account-signed_in_as = ログイン中
account-email = メールアドレス
account-login_id = ログインID
account-sessions = 有効なセッション
account-session_started = 開始
account-session_ip = IPアドレス
account-session_agent = 環境
account-this_session = （このセッション）
logout-title = ログアウト
logout-confirm = ログアウトしますか？
logout-submit = ログアウト
logout-done = ログアウトしました。
logout-again = もう一度ログイン
error-title = エラー
error-back = 最初の画面へ戻る
error-reopen = ページを開き直す
error-csrf_failed = このフォームは受け付けられませんでした。有効期限が切れたか（別のタブでログイン・ログアウトした場合など）、このサイト以外から送信されたためです。何も変更されていません。ページを開き直して、もう一度入力してください。
error-saml_bad_request = シングルサインオンの要求が正しくありません。
error-saml_too_large = シングルサインオンの要求が大きすぎます。
error-saml_unknown_sp = このサービスは登録されていません。管理者にお問い合わせください。
error-saml_unsigned = このサービスからの要求には署名が必要です。
error-saml_bad_signature = 要求の署名を検証できませんでした。
error-saml_bad_acs = 応答の送信先がサービスの登録内容と一致しません。
error-saml_replay = この要求はすでに使用されています。サービスからもう一度やり直してください。
error-saml_expired = シングルサインオンの要求の有効期限が切れました。サービスからもう一度やり直してください。
error-saml_idp_initiated_disabled = このサービスへのIdP起点のログインは許可されていません。
error-not_found = ページが見つかりません。
error-payload_too_large = 送信されたデータが大きすぎます。
error-bad_request = リクエストの形式が正しくありません。
error-rate_limited = リクエストが多すぎます。しばらく待ってから再度お試しください。
error-internal = 予期しないエラーが発生しました。しばらくしてから再度お試しください。
error-unavailable = サービスが一時的に利用できません。
authz-error = このアプリからのログイン要求を処理できません。アプリの提供元にお問い合わせください。
password-invitation_title = パスワードの設定
password-change_title = パスワードの変更
password-current = 現在のパスワード
password-new = 新しいパスワード
password-confirm = 新しいパスワード（確認）
password-submit = 保存
password-mismatch = 確認用のパスワードが一致しません。
password-current_wrong = 現在のパスワードが正しくありません。
password-weak = このパスワードは使用できません。より長く、推測されにくいものにしてください。
error-invalid_invitation = この招待リンクは無効か、使用済みか、有効期限が切れています。管理者にお問い合わせください。
app_blocked = このサービスの利用権限がありません。
error-support_grant_limit = 現在すでに上限に達しているため、これ以上認証リンクを生成できません
error-impersonation_forbidden = サポート用のセッションでは、この操作はできません。
support-banner = サポート担当者として次のユーザーのアカウントを操作中です：
support-redeem_title = サポートアクセス
support-redeem_confirm = 次のユーザーとしてサインインします：
support-readonly = 閲覧のみ
support-until = 有効期限
support-submit = 開始する
support-target = URL
support-revoke = 取り消す
support-back = ←
consent-title = アクセスの許可
consent-asks = が、あなたのアカウントの次の情報へのアクセスを求めています。
consent-approve = 許可する
consent-deny = 拒否する
scope-openid = あなたがログインしていることの確認
scope-profile = 名前とユーザー名
scope-email = メールアドレス
scope-address = 住所
scope-phone = 電話番号
scope-offline_access = ログアウト後もアクセスを続けること

## The auto-submitting form (OAuth form_post, SAML HTTP-POST), for browsers without scripts.

# (the page is built where no page language is at hand: shown in English for now)
form_post-continue = 続ける

## The admin console (/admin/)

error-console_forbidden = 管理コンソールは管理者のみ利用できます。

## 外部サービスによるサインイン。

federation-title = サインイン
federation-or_sign_in_with = 他の方法でサインイン
federation-denied = 外部サービスでのサインインがキャンセルまたは拒否されました。変更は行われていません。
federation-bad_state = このサインインは有効期限が切れたか、別のブラウザで開始されました。サインインページからやり直してください。
federation-upstream = 外部サービスに接続できないか、エラーが返されました。時間をおいて再度お試しいただくか、別の方法でサインインしてください。
federation-invalid_token = 外部サービスからの応答を検証できなかったため、受け付けませんでした。再度お試しいただくか、管理者にお問い合わせください。
federation-unknown_account = この外部サービスのアカウントは、ここでのアカウントに連携されておらず、自動的に連携することもできません。パスワードでサインインしてアカウントのページから連携するか、管理者にお問い合わせください。
federation-unusable = このアカウントは現在サインインできません。管理者にお問い合わせください。
federation-no_provider = このサインイン方法は利用できません。
federation-linked_elsewhere = その外部サービスのアカウントは既に別のアカウントに連携されているか、あなたのアカウントが既にそのサービスの別のアカウントと連携されています。先にそちらの連携を解除してください。
federation-account_title = 外部サービスを使用したログイン
federation-account_intro = サインインに使用できる外部サービス（会社のアカウントなど）のアカウントです。
federation-none = 連携している外部サービスはありません。
federation-col_provider = サービス
federation-col_email = サービス側のメールアドレス
federation-col_linked = 連携日時
federation-col_used = 最終使用
federation-col_actions = 操作
federation-unlink = 解除
federation-link_more = 次のサービスのアカウントを連携
federation-linked = アカウントを連携しました。
federation-unlinked = 連携を解除しました。これを使ったセッションは終了しました。
federation-manage = 外部サービスを使用したログイン
