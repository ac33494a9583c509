"""Access: who is asking and what they may see.

accounts   people, devices, sign-in, tokens, sessions, revocation (`Caller`)
login_limits  sign-in limits per account and address, the password-hashing pool
scope      every station-scope rule: reads, the feed, live sockets, writes, attachments;
           who gets caller data in full, and its masks
"""
