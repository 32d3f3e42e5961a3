-- A person's task list (`assignee = ?`, optionally by status) is read in id order, a page at a
-- time: both orders are served by an index range scan instead of sorting every task the person
-- ever had.
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks (assignee_id, id);
CREATE INDEX tasks_assignee_status ON tasks (assignee_id, status, id);
