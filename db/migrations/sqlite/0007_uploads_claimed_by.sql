-- Who holds an upload's completion claim: the claiming Store's instance
-- token. A claim whose holder is gone (its process crashed mid-join) is
-- abandoned, and the upload can be completed again.
ALTER TABLE uploads ADD COLUMN claimed_by TEXT;
