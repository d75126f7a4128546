### Device authorization pages (RFC 8628).

device-title = Connect a device
device-enter = Enter the code shown on your device.
device-code_label = Code
device-continue = Continue
device-bad_code = This code is not valid, has expired or has already been used. Check the code shown on your device.
device-asks = is asking for access to the following from your account.
device-account = Account:
device-check_code = Make sure it matches the code on your device:
device-needs_admin = This app also needs an administrator's approval after yours. The device cannot be used until then.
device-done = The device is connected. Go back to your device to continue.
device-awaiting_admin = Allowed. The device can be used once an administrator approves it; you will be told by e-mail.
device-denied = You denied the device's request.
device-approval_title = Approve a device
device-scope = Access:
device-status = Status:
