-- The console's listings (web/console/api/tasks.py, conversations.py).

-- A conversation's opaque id: the console names a conversation by it, in its URLs and action log,
-- never by the customer's phone number.
ALTER TABLE conversations ADD COLUMN conversation_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX conversations_conversation_id ON conversations (conversation_id);
-- The handoff inbox: conversations a person has, the longest waiting first.
CREATE INDEX conversations_handoff_inbox ON conversations (handed_off_at, conversation_id) WHERE mode = 'human';

-- The operator's task list spans every organisation, newest first.
CREATE INDEX background_tasks_created ON background_tasks (created_at DESC, id DESC);
