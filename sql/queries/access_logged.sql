-- One look at named children's data, written before anything is shown (audit.access_log).
INSERT INTO audit.access_log (accessed_at, who, command, subject, detail, os_user)
VALUES ($accessed_at, $who, $command, $subject, $detail, $os_user)
