-- assembly_id holds an upload's blob-store handle (blob.Store.Begin), which
-- may be up to 255 bytes: S3's is a key and a multipart upload id, and AWS
-- upload ids alone are longer than the 64 bytes the filesystem needed.
ALTER TABLE uploads MODIFY COLUMN assembly_id VARBINARY(255) NULL
