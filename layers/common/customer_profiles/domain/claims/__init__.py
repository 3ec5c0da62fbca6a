"""Claims: a reseller's buyer claims what was bought through a link; staff and partners cancel, resend
or re-address it; the schedule reminds and expires it."""
