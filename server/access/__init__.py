"""Access: who is asking and what they may see.

accounts   people, devices, sign-in, tokens, revocation (`Caller`)
scope      every station-scope rule: reads, the feed, live sockets, writes, attachments;
           who gets caller data in full, and its masks
"""
