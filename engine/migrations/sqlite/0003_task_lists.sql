-- A person's task list (`assignee = ?` within the caller's teams, optionally by status) is read in
-- id order, a page at a time: these indexes serve it by a range scan that stops at the page's
-- end, instead of sorting every task the person or the team ever had.
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks (assignee_id, team_id, id);
CREATE INDEX tasks_assignee_status ON tasks (assignee_id, status, id);
