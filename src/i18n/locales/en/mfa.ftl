### Two-step sign-in, MFA settings and re-authentication.

## The second step at sign-in.

mfa-step-title = Two-step verification
mfa-step-totp_help = Enter the 6-digit security code shown in your authenticator app.
mfa-step-step_up = To continue, confirm it is you with two-step verification.
mfa-step-totp_label = Security code (6 digits)
mfa-step-submit = Verify
mfa-step-use_backup = Can't use your app? Use a backup code instead
mfa-code_wrong = The code is wrong or has expired. Wait for the next code and try again.
mfa-code_format = The security code is 6 digits. Enter the digits shown in your authenticator app.
mfa-backup-title = Sign in with a backup code
mfa-backup-help = Enter one of your unused backup codes. Each code works only once. They look like:
mfa-backup-label = Backup code
mfa-backup-use_app = Use the code from your authenticator app
mfa-backup_wrong = The backup code is wrong or has already been used. Try another unused code.
mfa-backup_format = That is not the format of a backup code. Check what you typed.
mfa-expired-title = Sign in again
mfa-no_challenge = This sign-in has expired or was not started in this browser. Sign in again.
mfa-too_many = Too many wrong codes: this sign-in has been cancelled. Sign in again.
mfa-login_again = Go to sign-in
mfa-continue = Continue
mfa-cancel = Cancel
mfa-back_to_account = Back to your account

## After a backup-code sign-in.

mfa-backup_done-title = Signed in with a backup code
mfa-backup_done-remaining = Backup codes left:
mfa-backup_done-low = You are running out of backup codes. If you cannot use your authenticator app, set up two-step verification again as soon as possible and save the new backup codes.
mfa-backup_done-advice = Backup codes are for emergencies. If you cannot use your authenticator app, set up two-step verification again.
mfa-backup_done-settings = Two-step verification settings

## Enrolment.

mfa-enrol-title = Set up two-step verification
mfa-enrol-required = Your organisation requires two-step verification.
mfa-enrol-re_enrol = Setting it up again replaces your current authenticator and invalidates all your backup codes.
mfa-enrol-step_app = Install an authenticator app (such as Google Authenticator) on your phone.
mfa-enrol-step_scan = Scan the QR code below with the app.
mfa-enrol-step_code = Enter the 6-digit security code the app shows and press Verify.
mfa-enrol-qr_alt = QR code to scan with your authenticator app
mfa-enrol-open_in_app = Open in an authenticator app on this device
mfa-enrol-manual = If you cannot scan the QR code, enter this account and key in the app by hand (time-based).
mfa-enrol-issuer = Issuer
mfa-enrol-account = Account
mfa-enrol-key = Key
mfa-enrol-kind = Type
mfa-enrol-kind_value = Time-based (30 s, 6 digits)
mfa-enrol-code_label = Security code
mfa-enrol-submit = Verify
mfa-enrol-grace = You may put this off during the grace period, which ends on
mfa-enrol-skip = Set up later
mfa-stale-title = Start the setup again
mfa-stale = This setup page is out of date (a newer one was opened, or it expired). Scan the QR code on the newest page. Two-step verification has not been turned on.
mfa-stale-again = Start again
mfa-enrolled-title = Two-step verification is on
mfa-enrolled-done = From now on, signing in takes your password and a code from your authenticator app.

## Backup codes.

mfa-codes-title = New backup codes
mfa-codes-heading = Backup codes
mfa-codes-once = If you cannot use your authenticator app, you can sign in with one of these codes. Each works once. This page is shown only once: download or write them down and keep them somewhere safe.
mfa-codes-download = Download backup codes (.txt)
mfa-codes-invalidated = All earlier backup codes, used or not, no longer work.
mfa-codes-file_header = backup codes (each works once)
mfa-codes-file_footer = Cross out each code you use. Generating new codes invalidates all of these.
mfa-regen-title = Generate new backup codes
mfa-regen-text = This creates a new set of backup codes. All earlier codes, used or not, stop working.
mfa-regen-button = Generate new codes

## Settings.

mfa-settings-title = Two-step verification
mfa-settings-enrolled_at = Set up on:
mfa-settings-regenerate = Generate new backup codes
mfa-settings-re_enrol = Set up the authenticator again (new phone)
mfa-settings-disable = Turn off two-step verification
mfa-settings-enrol = Set up two-step verification
mfa-settings-required = Your organisation requires two-step verification, so it cannot be turned off.
mfa-summary-label = Two-step verification
mfa-summary-on = On
mfa-summary-off = Off
mfa-summary-remaining = Unused backup codes:
mfa-summary-low = You are running out of backup codes: generate new ones.
mfa-summary-manage = Manage two-step verification
mfa-disable-title = Turn off two-step verification
mfa-disable-text = Signing in will take only your password, and all your backup codes will stop working. Turn it off?
mfa-disable-button = Turn off
mfa-disabled-done = Two-step verification is off. All backup codes have been invalidated.

## Re-authentication.

reauth-title = Confirm your password
reauth-help = To change security settings, enter your password again.
reauth-submit = Confirm
reauth-failed = The password is incorrect.
error-mfa_not_enabled = Two-step verification is not on.
error-mfa_required = Your organisation requires two-step verification, so it cannot be turned off.

## Passkeys (WebAuthn): the account page, the login page and the second step.

passkeys-title = Passkeys and security keys
passkeys-intro = A passkey signs you in with your device's screen lock (fingerprint, face or PIN) or a security key, instead of a code. It cannot be phished: it only works on this site. It counts as two-step verification.
passkeys-off = Passkeys are not available on this server:
passkeys-required = Your organisation asks you to sign in with a passkey. Add one to continue.
passkeys-name = Name of the new passkey
passkeys-name_hint = e.g. Work laptop, YubiKey
passkeys-register = Add a passkey
passkeys-failed = The passkey did not work. Try again, or use another way to sign in.
passkeys-noscript = Passkeys need JavaScript, which is turned off in this browser.
passkeys-list = Your passkeys
passkeys-none = You have no passkeys yet.
passkeys-col_name = Name
passkeys-col_kind = Type
passkeys-col_created = Added
passkeys-col_used = Last used
passkeys-col_actions = Actions
passkeys-rename = Rename
passkeys-remove = Remove
passkeys-kind_swk = Synced passkey
passkeys-kind_hwk = Device-bound key
passkeys-signin = Sign in with a passkey
passkeys-step_help = Confirm it is you with your passkey or security key.
passkeys-or_code = Or use your authenticator app
passkeys-stale = This registration has expired or was started elsewhere. Try again.
passkeys-rejected = The passkey could not be verified. Try again.
passkeys-duplicate = This passkey is already registered.
passkeys-refused = This passkey is not registered for an account here, or it could not be verified.
passkeys-cloned = This passkey has been refused because it may have been copied. Your administrator has been told. Use another way to sign in.
passkeys-expired = This sign-in has expired or was not started in this browser. Try again.
passkeys-added = The passkey was added.
passkeys-renamed = The passkey was renamed.
passkeys-removed = The passkey was removed.
passkeys-unknown = That passkey does not exist (any more).
passkeys-off_config = The administrator has turned them off.
passkeys-off_ip = The server's address is an IP address, and passkeys need a host name (for example id.example.com or localhost). Ask the administrator to give the server a name.
passkeys-off_other = The server's address cannot be used for passkeys. Ask the administrator.
passkeys-use_backup = Can't use your passkey? Use a backup code instead
passkeys-no_backup_codes = You have no backup codes. If you lose your passkeys, backup codes let you sign in:
passkeys-make_backup_codes = create backup codes
passkeys-not_allowed = Your organisation only allows certain security keys, and this one is not among them (or could not prove which model it is).
passkeys-last = Your organisation requires this way of signing in: add another passkey (or an authenticator app) before removing this one.
passkeys-manage = Passkeys and security keys
