### 2段階認証、MFAの設定、パスワードの再入力。

## The second step at sign-in.

mfa-step-title = 2段階認証
mfa-step-totp_help = 認証アプリに表示されている6桁のセキュリティコードを入力してください。
mfa-step-step_up = 続行するには、2段階認証でもう一度本人確認を行ってください。
mfa-step-totp_label = セキュリティコード（6桁）
mfa-step-submit = 認証する
mfa-step-use_backup = 認証アプリを使えない場合：バックアップコードを使用する
mfa-code_wrong = コードが正しくないか、有効期限が切れています。次のコードが表示されるまで待ってから、もう一度お試しください。
mfa-code_format = セキュリティコードは6桁の数字です。認証アプリに表示されている数字を入力してください。
mfa-backup-title = バックアップコードでログイン
mfa-backup-help = 保管しておいたバックアップコードのうち、未使用のものを1つ入力してください。各コードは1回だけ使えます。形式の例：
mfa-backup-label = バックアップコード
mfa-backup-use_app = 認証アプリのコードを使用する
mfa-backup_wrong = バックアップコードが正しくないか、すでに使用されています。未使用の別のコードをお試しください。
mfa-backup_format = バックアップコードの形式が正しくありません。入力内容をご確認ください。
mfa-expired-title = ログインをやり直してください
mfa-no_challenge = このログイン手続きは有効期限が切れたか、このブラウザで開始されていません。もう一度ログインしてください。
mfa-too_many = コードの誤りが多すぎるため、このログイン手続きは無効になりました。もう一度ログインしてください。
mfa-login_again = ログイン画面へ
mfa-continue = 続ける
mfa-cancel = キャンセル
mfa-back_to_account = アカウントへ戻る

## After a backup-code sign-in.

mfa-backup_done-title = バックアップコードでログインしました
mfa-backup_done-remaining = 使用できるバックアップコードの残り：
mfa-backup_done-low = バックアップコードの残りが少なくなっています。認証アプリが使えない場合は、できるだけ早く2段階認証を設定し直し、新しいバックアップコードを保存してください。
mfa-backup_done-advice = バックアップコードは一時的なログイン手段です。認証アプリが使えない場合は、2段階認証を設定し直してください。
mfa-backup_done-settings = 2段階認証の設定へ

## Enrolment.

mfa-enrol-title = 2段階認証を設定する
mfa-enrol-required = 組織のポリシーにより、2段階認証の設定が必要です。
mfa-enrol-re_enrol = 設定し直すと、これまでの認証アプリの登録とバックアップコードはすべて無効になります。
mfa-enrol-step_app = スマートフォンに認証アプリ（Google Authenticator など）をインストールします。
mfa-enrol-step_scan = 認証アプリで下のQRコードを読み取ります。
mfa-enrol-step_code = アプリに表示された6桁のセキュリティコードを入力して「認証する」を押します。
mfa-enrol-qr_alt = 認証アプリで読み取るQRコード
mfa-enrol-open_in_app = このデバイスの認証アプリで開く
mfa-enrol-manual = QRコードを読み取れない場合は、次の「アカウント」と「キー」を認証アプリに手動で入力してください（時間ベース）。
mfa-enrol-issuer = 発行者
mfa-enrol-account = アカウント
mfa-enrol-key = キー
mfa-enrol-kind = 種類
mfa-enrol-kind_value = 時間ベース（30秒・6桁）
mfa-enrol-code_label = セキュリティコード
mfa-enrol-submit = 認証する
mfa-enrol-grace = 猶予期間中は、設定を後回しにできます。期限：
mfa-enrol-skip = 後で設定する
mfa-stale-title = 設定をやり直してください
mfa-stale = この設定画面は古くなっています（新しい設定画面を開いたか、有効期限が切れました）。最新の画面のQRコードを読み取ってください。2段階認証は有効になっていません。
mfa-stale-again = 設定をやり直す
mfa-enrolled-title = 2段階認証が有効になりました
mfa-enrolled-done = 次回以降のログインでは、パスワードに加えて認証アプリのセキュリティコードが必要です。

## Backup codes.

mfa-codes-title = 新しいバックアップコード
mfa-codes-heading = バックアップコード
mfa-codes-once = 認証アプリが使えないときは、これらのコードでログインできます。各コードは1回だけ使えます。この画面は一度しか表示されません。ダウンロードするか書き留めて、安全な場所に保管してください。
mfa-codes-download = バックアップコードをダウンロード（.txt）
mfa-codes-invalidated = これまでのバックアップコードは、使用済みかどうかにかかわらず、すべて無効になりました。
mfa-codes-file_header = のバックアップコード（各コード1回限り有効）
mfa-codes-file_footer = 使用したコードには印を付けてください。新しいコードを発行すると、このコードはすべて無効になります。
mfa-regen-title = バックアップコードを再発行する
mfa-regen-text = 新しいバックアップコードを発行します。これまでのコードは、使用済みかどうかにかかわらず、すべて無効になります。
mfa-regen-button = 再発行する

## Settings.

mfa-settings-title = 2段階認証
mfa-settings-enrolled_at = 設定日時：
mfa-settings-regenerate = バックアップコードを再発行する
mfa-settings-re_enrol = 認証アプリを設定し直す（機種変更など）
mfa-settings-disable = 2段階認証を解除する
mfa-settings-enrol = 2段階認証を設定する
mfa-settings-required = 組織のポリシーにより2段階認証は必須のため、解除できません。
mfa-summary-label = 2段階認証
mfa-summary-on = 有効
mfa-summary-off = 無効
mfa-summary-remaining = 未使用のバックアップコード：
mfa-summary-low = バックアップコードの残りが少なくなっています。再発行してください。
mfa-summary-manage = 2段階認証の設定
mfa-disable-title = 2段階認証を解除する
mfa-disable-text = 解除すると、パスワードだけでログインできるようになり、バックアップコードはすべて無効になります。解除しますか？
mfa-disable-button = 解除する
mfa-disabled-done = 2段階認証を解除しました。バックアップコードはすべて無効になりました。

## Re-authentication.

reauth-title = パスワードの再入力
reauth-help = セキュリティ設定を変更するため、もう一度パスワードを入力してください。
reauth-submit = 確認する
reauth-failed = パスワードが正しくありません。
error-mfa_not_enabled = 2段階認証が有効になっていません。
error-mfa_required = 組織のポリシーにより2段階認証は必須のため、解除できません。
