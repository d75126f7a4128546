### E-mail to users and admins (src/notify/templates.rs), plain text.
###
### Every message is given $product (the product name, `ui.product_name`); other
### variables are named above the message. Fluent keeps the line breaks of a text that
### spans lines, so each paragraph is one line and a blank line is an empty line.

## The frame of every message.

# $subject: the subject of the message (the *-subject messages below).
notify-subject = [{ $product }] { $subject }
# $name: the recipient's display name, or their address; $main: the text of the
# message (the *-body messages below). The e-mail ends with a line break ({ "" }).
notify-body =
    Hello { $name },

    { $main }

    --
    This is an automated message from { $product }. Replies to it are not read.
    { "" }
# How dates and times are written in messages ($until, $expires_at): a chrono
# strftime pattern (https://docs.rs/chrono/latest/chrono/format/strftime/), in UTC.
notify-datetime = %Y-%m-%d %H:%M UTC

-contact-admin = If you did not expect this, please contact your administrator immediately.

## The messages.

# $link: where to set the password.
notify-invitation-subject = Set up your { $product } account
notify-invitation-body =
    An account has been created for you on { $product }. To start using it, choose your password at the link below:

    { $link }

    The link works only once and expires after a while. If it has expired, ask your administrator to send a new invitation.

# $link: where to change the password.
notify-password_change_requested-subject = Please change your password
notify-password_change_requested-body =
    Your administrator has asked you to change your { $product } password. You will be asked to choose a new one the next time you sign in. To change it now, use the link below:

    { $link }

notify-password_set_by_admin-subject = Your password was changed by an administrator
notify-password_set_by_admin-body =
    An administrator has set a new password for your { $product } account, and you have been signed out everywhere. Please ask your administrator for the new password to sign in again.

    { -contact-admin }

# $unlock: "automatic" (then $until: when) or "manual" (only an administrator unlocks).
notify-account_locked-subject = Your account has been locked
notify-account_locked-body =
    Your { $product } account has been locked after repeated failed sign-in attempts. { $unlock ->
        [automatic] It will be unlocked automatically at { $until }.
       *[manual] It stays locked until an administrator unlocks it.
    }

    If these attempts were not yours, someone may be trying to get into your account: please tell your administrator.

notify-account_unlocked-subject = Your account has been unlocked
notify-account_unlocked-body = Your { $product } account has been unlocked. You can sign in again.

notify-account_suspended-subject = Your account has been suspended
notify-account_suspended-body =
    An administrator has suspended your { $product } account. While it is suspended you cannot sign in, and you have been signed out everywhere. Your data is kept.

    For details, please contact your administrator.

notify-account_unsuspended-subject = Your account has been reinstated
notify-account_unsuspended-body = An administrator has lifted the suspension of your { $product } account. You can sign in again.

notify-mfa_reset-subject = Two-step sign-in has been reset
notify-mfa_reset-body =
    An administrator has turned off two-step sign-in (MFA) for your { $product } account: your authenticator app, passkeys and backup codes no longer work. Please set up two-step sign-in again after you sign in.

    { -contact-admin }

# $key_name: the name the user gave the passkey.
notify-passkey_added-subject = A passkey was added to your account
notify-passkey_added-body =
    A passkey or security key named "{ $key_name }" was added to your { $product } account. It can now be used to sign in.

    If you did not add it, remove it from your account page and contact your administrator immediately.

# $key_name: the name of the passkey; $by: admin or user.
notify-passkey_removed-subject = A passkey was removed from your account
notify-passkey_removed-body =
    { $by ->
        [admin] An administrator removed
       *[user] You removed
    } the passkey "{ $key_name }" from your { $product } account. It can no longer be used to sign in.

    { -contact-admin }

# $provider: the upstream provider's name; $by: admin or user.
notify-linked_login_removed-subject = A sign-in method was unlinked from your account
notify-linked_login_removed-body =
    { $by ->
        [admin] An administrator unlinked
       *[user] You unlinked
    } your { $provider } account from your { $product } account. You can no longer sign in with it, and the sessions that came through it have ended.

    { -contact-admin }

# $provider: the upstream provider's name.
notify-linked_login_added-subject = A sign-in method was linked to your account
notify-linked_login_added-body =
    Your { $provider } account was linked to your { $product } account: it can now be used to sign in.

    { -contact-admin }

# $support_name: the support engineer; $expires_at: when the access ends.
notify-support_grant_redeemed-subject = Support staff are accessing your account
notify-support_grant_redeemed-body =
    { $support_name } from support has started working in your { $product } account with the access you granted. This access ends at { $expires_at } at the latest.

    If you did not grant support access, please contact your administrator immediately.

# $support_name: the support engineer.
notify-support_session_ended-subject = Support session ended
notify-support_session_ended-body = The support session of { $support_name } in your { $product } account has ended.

# To an administrator. $user_name: whose account; $reason: as the engineer wrote it;
# $approve_link: the request's page.
notify-support_request_pending-subject = Support access request awaiting approval
notify-support_request_pending-body =
    Support access to the account of { $user_name } has been requested and is waiting for your decision.

    Reason: { $reason }

    Review the request here:

    { $approve_link }

# To the engineer. $user_name: whose account; $decision: "approved" or "declined".
notify-support_request_decided-subject = Support access request { $decision ->
        [approved] approved
       *[declined] declined
    }
notify-support_request_decided-body = Your request for support access to the account of { $user_name } has been { $decision ->
        [approved] approved
       *[declined] declined
    }.

# To an administrator. $user_name: who connected the device; $app_name: the
# application; $approve_link: the request's page.
notify-device_approval_pending-subject = Device registration awaiting approval
notify-device_approval_pending-body =
    { $user_name } has connected a device to { $app_name }. The device gets access only after an administrator approves it.

    Review the request here (you will be asked to sign in):

    { $approve_link }

# To the user. $app_name: the application; $decision: "approved" or "declined".
notify-device_approval_decided-subject = Device registration { $decision ->
        [approved] approved
       *[declined] declined
    }
notify-device_approval_decided-body = An administrator has { $decision ->
        [approved] approved
       *[declined] declined
    } the device you connected to { $app_name } with your { $product } account.
