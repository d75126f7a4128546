### Page texts: sign-in, account, sign-out, errors, password, support, consent.
### A message `login-title` is `locale.t("login.title")` in Rust.

# The name of this language, on the switch to it from a page in another language.
lang-name = English
login-title = Sign in
login-username = Email or login ID
login-password = Password
login-submit = Sign in
login-failed = The login ID or password is incorrect.
login-locked = This account is locked after repeated failed sign-ins. Try again later or contact your administrator.
login-suspended = This account has been suspended by an administrator. Contact your administrator.
login-missing = Enter your login ID and password.
account-title = Your account
account-signed_in_as = Signed in as
account-email = Email
account-login_id = Login ID
account-sessions = Active sessions
account-session_started = Started
account-session_ip = IP address
account-session_agent = Browser
account-this_session = (this session)
logout-title = Sign out
logout-confirm = Do you want to sign out?
logout-submit = Sign out
logout-done = You have signed out.
logout-again = Sign in again
error-title = Error
error-back = Back to the start page
error-reopen = Open the page again
error-csrf_failed = This form could not be accepted: it had expired (for example after signing in or out in another tab) or it was not sent from this site. Nothing was changed. Open the page again and fill it in once more.
error-saml_bad_request = The single sign-on request is not valid.
error-saml_too_large = The single sign-on request is too large.
error-saml_unknown_sp = This service is not registered. Contact your administrator.
error-saml_unsigned = Requests from this service must be signed.
error-saml_bad_signature = The request signature could not be verified.
error-saml_bad_acs = The response address does not match the service's registration.
error-saml_replay = This request was already used. Start again from the service.
error-saml_expired = The single sign-on request has expired. Start again from the service.
error-saml_idp_initiated_disabled = Signing in to this service from here is not enabled.
error-not_found = The page was not found.
error-payload_too_large = The submitted data is too large.
error-bad_request = The request is not well-formed.
error-rate_limited = Too many requests. Wait a moment and try again.
error-internal = An unexpected error occurred. Try again later.
error-unavailable = The service is temporarily unavailable.
authz-error = This sign-in request from the application cannot be processed. Contact the application's provider.
password-invitation_title = Set your password
password-change_title = Change your password
password-current = Current password
password-new = New password
password-confirm = New password again
password-submit = Save
password-mismatch = The two new passwords do not match.
password-current_wrong = The current password is incorrect.
password-weak = This password cannot be used. Choose a longer one that is harder to guess.
error-invalid_invitation = This invitation link is invalid, used or expired. Contact your administrator.
app_blocked = You are not permitted to use this service.
error-support_grant_limit = The limit has been reached; no more links can be generated
error-impersonation_forbidden = This cannot be done in a support session.
support-banner = Support session for
support-redeem_title = Support access
support-redeem_confirm = You are about to act as
support-readonly = Read-only
support-until = Valid until
support-submit = Start
support-target = URL
support-revoke = Revoke
support-back = ←
consent-title = Allow access
consent-asks = is asking for access to the following from your account.
consent-approve = Allow
consent-deny = Deny
scope-openid = Confirm that you are signed in
scope-profile = Your name and user name
scope-email = Your email address
scope-address = Your address
scope-phone = Your phone number
scope-offline_access = Keep access while you are signed out

## The auto-submitting form (OAuth form_post, SAML HTTP-POST), for browsers without scripts.

form_post-continue = Continue

## The admin console (/admin/)

error-console_forbidden = The admin console is for administrators only.

## Sign-in through an upstream provider.

federation-title = Sign in
federation-or_sign_in_with = Or sign in with
federation-denied = The sign-in at the other service was cancelled or refused. Nothing was changed.
federation-bad_state = This sign-in has expired or was started in another browser. Start again from the sign-in page.
federation-upstream = The other service could not be reached or answered with an error. Try again later, or sign in another way.
federation-invalid_token = The other service's answer could not be verified, so it was not accepted. Try again, or contact your administrator.
federation-unknown_account = This account of the other service is not linked to an account here, and cannot be linked automatically. Sign in with your password and link it from your account page, or ask your administrator.
federation-unusable = This account cannot sign in now. Contact your administrator.
federation-no_provider = This way of signing in is not available.
federation-linked_elsewhere = That account of the other service is already linked to another account here, or yours is already linked to another account there. Unlink the other first.
federation-account_title = Sign-in with other services
federation-account_intro = Accounts of other services (for example your company's) that you can sign in with.
federation-none = No other service is linked.
federation-col_provider = Service
federation-col_email = E-mail there
federation-col_linked = Linked
federation-col_used = Last used
federation-col_actions = Actions
federation-unlink = Unlink
federation-link_more = Link an account of
federation-linked = The account was linked.
federation-unlinked = The account was unlinked; the sessions that came through it have ended.
federation-manage = Sign-in with other services
