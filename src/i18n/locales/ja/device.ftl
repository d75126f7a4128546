### 端末の接続（RFC 8628）の画面。

device-title = 端末の接続
device-enter = 端末に表示されているコードを入力してください。
device-code_label = コード
device-continue = 次へ
device-bad_code = このコードは無効か、有効期限が切れているか、すでに使用されています。端末に表示されているコードを確認してください。
device-asks = が、あなたのアカウントで次の情報へのアクセスを求めています。
device-account = アカウント：
device-check_code = 端末に表示されているコードと一致することを確認してください：
device-needs_admin = このアプリは、あなたの許可に加えて管理者の承認が必要です。承認されるまで端末は利用できません。
device-done = 端末を接続しました。端末に戻って操作を続けてください。
device-awaiting_admin = 許可しました。管理者が承認すると端末が利用できるようになります。結果はメールでお知らせします。
device-denied = 端末の接続を拒否しました。
device-approval_title = 端末登録の承認
device-scope = アクセス範囲：
device-status = 状態：
