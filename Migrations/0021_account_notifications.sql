-- Identities cached on each node (issue 16): a node keeps the account id and role of each caller
-- of its control socket instead of reading them for every request, and drops what it kept when
-- the accounts table changes. This trigger tells every node so: any change of an account's name,
-- uid or role, or its removal (a TRUNCATE too), sends 'accounts' on `hearth_jobs`, the channel
-- each node already listens on. Listeners that do not know the payload (older daemons) take it as
-- "anything may have happened" and only pass once more.
CREATE FUNCTION accounts_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hearth_jobs', 'accounts');
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_changed AFTER UPDATE OF name, uid, role OR DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_changed_notify();
