"""The public face (开放档案查阅): open records only, no authentication, no session, no cookie."""
