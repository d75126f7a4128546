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

## パスキー（WebAuthn）：アカウントのページ、ログインページ、2段階目。

passkeys-title = パスキーとセキュリティキー
passkeys-intro = パスキーを使うと、コードの代わりに端末の画面ロック（指紋・顔・PIN）やセキュリティキーでサインインできます。このサイトでしか使えないため、フィッシングで盗まれません。2段階認証として扱われます。
passkeys-off = このサーバーではパスキーを利用できません：
passkeys-required = 組織のポリシーにより、パスキーでのサインインが必要です。続けるにはパスキーを追加してください。
passkeys-name = 新しいパスキーの名前
passkeys-name_hint = 例：仕事用ノートPC、YubiKey
passkeys-register = パスキーを追加
passkeys-failed = パスキーを使用できませんでした。もう一度お試しいただくか、別の方法でサインインしてください。
passkeys-noscript = パスキーの利用には JavaScript が必要ですが、このブラウザでは無効になっています。
passkeys-list = 登録済みのパスキー
passkeys-none = まだパスキーは登録されていません。
passkeys-col_name = 名前
passkeys-col_kind = 種類
passkeys-col_created = 追加日時
passkeys-col_used = 最終使用
passkeys-col_actions = 操作
passkeys-rename = 名前を変更
passkeys-remove = 削除
passkeys-kind_swk = 同期されるパスキー
passkeys-kind_hwk = 端末固有のキー
passkeys-signin = パスキーでサインイン
passkeys-step_help = パスキーまたはセキュリティキーで本人確認をしてください。
passkeys-or_code = または認証アプリのコードを使用
passkeys-stale = この登録は有効期限が切れたか、別の場所で開始されました。もう一度お試しください。
passkeys-rejected = パスキーを確認できませんでした。もう一度お試しください。
passkeys-duplicate = このパスキーはすでに登録されています。
passkeys-refused = このパスキーはここで登録されていないか、確認できませんでした。
passkeys-cloned = 複製された可能性があるため、このパスキーは拒否されました。管理者に通知されています。別の方法でサインインしてください。
passkeys-expired = このサインインは有効期限が切れたか、このブラウザで開始されていません。もう一度お試しください。
passkeys-added = パスキーを追加しました。
passkeys-renamed = パスキーの名前を変更しました。
passkeys-removed = パスキーを削除しました。
passkeys-unknown = そのパスキーは存在しません（削除済みの可能性があります）。
passkeys-off_config = 管理者により無効にされています。
passkeys-off_ip = サーバーのアドレスが IP アドレスのため、パスキーを使用できません（id.example.com や localhost のようなホスト名が必要です）。サーバーにホスト名を設定するよう管理者にご依頼ください。
passkeys-off_other = サーバーのアドレスはパスキーに使用できません。管理者にお問い合わせください。
passkeys-use_backup = パスキーを使用できない場合は、バックアップコードを使用
passkeys-no_backup_codes = バックアップコードがありません。パスキーをなくしたときにサインインするために：
passkeys-make_backup_codes = バックアップコードを作成
passkeys-not_allowed = 組織が許可しているセキュリティキーのみ登録できます。このキーは許可されていないか、機種を確認できませんでした。
passkeys-last = 組織のポリシーでこのサインイン方法が必要です。削除する前に、別のパスキー（または認証アプリ）を追加してください。
passkeys-manage = パスキーとセキュリティキー
