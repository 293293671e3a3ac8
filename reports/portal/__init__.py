"""The member portal: the member's own statements and data, invitations and the
member's account (owner e-mail change)."""
