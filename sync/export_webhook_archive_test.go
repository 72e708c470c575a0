package sync

// ArchiveWebhookTask archives the webhook task of a feed entry in Redis
// behind its handler's back, as asynq does when a worker dies during the
// task's last attempt.
func (f *Fanout) ArchiveWebhookTask(property, feed int64) error {
	return f.inspector.ArchiveTask(f.queueName(classCritical), webhookTaskID(webhookPayload{Property: property, Feed: feed}))
}
