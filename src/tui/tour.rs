//! `jitdesk demo --tour`: a story that plays by itself, for people watching rather than trying. The
//! story is data (`SCRIPT`): each step has a caption for the footer, something to do, and a pause.
//! Publishers act through the engine, as other people would; Alice, the viewer, acts only through
//! keys fed to the dashboard's own loop, so the tour shows (and exercises) the real screens and
//! forms, not a side door. Same script, same pacing, same frames on every run apart from the clock.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::{mpsc, oneshot};

use crate::domain::Period;
use crate::domain::rules::{Actor, NewRequest};
use crate::engine::Engine;

/// Who watches the tour: the approver every step is about.
pub const VIEWER: &str = "alice@contoso.com";

/// What the tour tells the dashboard's loop.
#[derive(Debug)]
pub enum Cue {
    /// A key, handled exactly as one from the keyboard.
    Key(KeyEvent),
    /// The footer's caption from now on.
    Caption(&'static str),
    /// Answered once no engine call of the dashboard is under way and it shows data loaded after
    /// that: the next keys act on what the steps before changed.
    Sync(oneshot::Sender<()>),
    /// The story is over: the dashboard ends.
    End,
}

/// How long an access lasts once approved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lasts {
    /// Seconds at the tour's default speed, shortened with it: the countdown watched to its end.
    Watched(f64),
    /// Whole hours, whatever the speed: longer than the tour runs.
    Hours(i64),
}

/// A key pressed by the tour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Press {
    /// One key, without modifiers.
    Key(KeyCode),
    /// Text typed one key at a time, as a person would.
    Type(&'static str),
    /// The number of the request asked for last, typed digit by digit.
    Last,
}

/// What a step does after showing its caption.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Do {
    /// A publisher asks for access, through the engine.
    Ask {
        /// The requester's UPN.
        by: &'static str,
        /// The application's name.
        app: &'static str,
        /// The one role asked for.
        role: &'static str,
        /// How long the access lasts.
        lasts: Lasts,
        /// The justification, as the requester types it.
        why: &'static str,
    },
    /// Keys for the dashboard, a beat apart.
    Keys(&'static [Press]),
    /// Only the caption and the pause.
    Show,
}

/// One step: a caption (None keeps the one shown), what happens, then a pause in seconds at speed 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The footer's new caption; `None` keeps the one shown.
    pub caption: Option<&'static str>,
    /// What happens once the caption shows.
    pub then: Do,
    /// Seconds to wait afterwards at speed 1, shortened as the speed grows.
    pub pause: f64,
}

/// The beat between two keys, and between two typed characters, at speed 1.
const KEY_BEAT: f64 = 0.5;
const TYPE_BEAT: f64 = 0.05;

const fn say(caption: &'static str, then: Do, pause: f64) -> Step {
    Step { caption: Some(caption), then, pause }
}

const fn then(then: Do, pause: f64) -> Step {
    Step { caption: None, then, pause }
}

const fn key(c: char) -> Press {
    Press::Key(KeyCode::Char(c))
}

const ENTER: Press = Press::Key(KeyCode::Enter);
const TAB: Press = Press::Key(KeyCode::Tab);
const ESC: Press = Press::Key(KeyCode::Esc);

const FRANK: &str = "frank@fabrikam.com";
const GRACE: &str = "grace@fabrikam.com";
const DAVE: &str = "dave@fabrikam.com";
const ERIN: &str = "erin@fabrikam.com";
/// The application the wizard deploys, which the bulk approval is then about.
const NEW_APP: &str = "contoso-crm-qa";

const fn ask(by: &'static str, app: &'static str, role: &'static str, lasts: Lasts, why: &'static str) -> Do {
    Do::Ask { by, app, role, lasts, why }
}

/// The story, in order: a request arrives, is opened, approved, counts down and ends; another is
/// denied; the deployment wizard creates an application; requests for it are approved in bulk.
pub const SCRIPT: &[Step] = &[
    say("Alice approves just-in-time access to Contoso's managed applications", Do::Show, 4.0),
    say(
        "Frank, a Fabrikam engineer, asks for Contributor on contoso-crm, briefly",
        ask(FRANK, "contoso-crm", "Contributor", Lasts::Watched(20.0), "INC-20502: checkout latency alarm"),
        3.0,
    ),
    say("Alice opens it: # and its number, from any tab", Do::Keys(&[key('#'), Press::Last, ENTER]), 3.0),
    say("She approves it (a) with a reason that Frank will read", Do::Keys(&[key('a')]), 1.0),
    then(Do::Keys(&[Press::Type("Matches INC-20502: read only, please")]), 1.0),
    then(Do::Keys(&[ENTER]), 2.0),
    say("Access starts now and counts down on the Access tab", Do::Keys(&[key('4')]), 10.0),
    say("Nobody has to remember to take it away: it ends by itself", Do::Show, 12.0),
    say(
        "Grace asks for Owner on contoso-crm to rotate keys",
        ask(GRACE, "contoso-crm", "Owner", Lasts::Hours(2), "CHG-1311: rotate the storage account keys"),
        1.0,
    ),
    then(Do::Keys(&[key('3')]), 2.0),
    say(
        "Owner is more than a key rotation needs: Alice denies it (d)",
        Do::Keys(&[key('#'), Press::Last, ENTER]),
        2.0,
    ),
    then(Do::Keys(&[key('d')]), 1.0),
    then(Do::Keys(&[Press::Type("Contributor is enough for CHG-1311: ask for that")]), 1.0),
    then(Do::Keys(&[ENTER]), 2.5),
    say(
        "A new application: n on the Applications tab opens the deployment wizard",
        Do::Keys(&[key('1')]),
        1.0,
    ),
    then(Do::Keys(&[key('n')]), 2.0),
    say("Offer: search the marketplace", Do::Keys(&[Press::Type("crm")]), 1.0),
    then(Do::Keys(&[ENTER]), 1.0),
    say("Basics: its name", Do::Keys(&[Press::Type(NEW_APP)]), 1.0),
    then(Do::Keys(&[ENTER, ENTER]), 2.0),
    say("JIT Configuration: just-in-time access, which can only be chosen now", Do::Keys(&[ENTER]), 1.0),
    say("Customize: manual approval, with Alice as its approver", Do::Keys(&[key('m')]), 1.0),
    then(Do::Keys(&[TAB, TAB, Press::Type("alice"), ENTER]), 1.5),
    say("Review, then Enter deploys it", Do::Keys(&[ENTER, ENTER]), 2.5),
    then(Do::Keys(&[ENTER]), 2.0),
    say("Three publishers ask for access to the new application", Do::Keys(&[key('3')]), 0.5),
    then(ask(DAVE, NEW_APP, "Reader", Lasts::Hours(1), "CHG-1400: QA run of release 5.2"), 0.5),
    then(ask(ERIN, NEW_APP, "Contributor", Lasts::Hours(2), "CHG-1400: load the QA data set"), 0.5),
    then(ask(FRANK, NEW_APP, "Reader", Lasts::Hours(1), "CHG-1400: check the QA logs"), 2.0),
    say("Decide in bulk: / filters, * marks every request Alice can decide", Do::Keys(&[key('/')]), 0.5),
    then(Do::Keys(&[Press::Type(NEW_APP), ENTER]), 1.0),
    then(Do::Keys(&[key('*')]), 2.0),
    say(
        "a approves every marked request with one reason, each on its own record",
        Do::Keys(&[key('a')]),
        1.0,
    ),
    then(Do::Keys(&[Press::Type("QA window agreed in CHG-1400")]), 1.0),
    then(Do::Keys(&[ENTER]), 2.5),
    say("That was the tour. Try it yourself: jitdesk demo", Do::Keys(&[ESC]), 4.0),
];

/// Plays `script` against the demo store, telling the dashboard over `cues`, `speed` times faster
/// than written; ends with `Cue::End`, or early when the dashboard has gone.
pub async fn play(engine: Engine, script: &[Step], speed: f64, cues: mpsc::UnboundedSender<Cue>) {
    super::demo::add_publishers(&engine).await;
    let speed = speed.clamp(0.1, 100.0);
    let beat = |secs: f64| tokio::time::sleep(Duration::from_secs_f64(secs / speed));
    let mut last = 0u64;
    for step in script {
        if let Some(caption) = step.caption
            && cues.send(Cue::Caption(caption)).is_err()
        {
            return;
        }
        // What the steps before changed shows first, so these keys act on it.
        if step.then != Do::Show && !settled(&cues).await {
            return;
        }
        match step.then {
            Do::Show => {}
            Do::Ask { by, app, role, lasts, why } => {
                let duration = match lasts {
                    Lasts::Watched(secs) => Period::from_secs((secs / speed).ceil().max(1.0) as i64),
                    Lasts::Hours(h) => Period::from_secs(h * 3600),
                };
                let request = NewRequest {
                    app: app.into(),
                    roles: vec![role.into()],
                    start: None,
                    duration,
                    justification: why.into(),
                    ticket: why.split(':').next().map(str::to_string),
                };
                match engine.run(&Actor::User(by.into()), request).await {
                    Ok(r) => last = r.id,
                    // The story goes on: the screen shows what is there.
                    Err(e) => tracing::warn!("the tour's request by {by} on {app} was refused: {e}"),
                }
            }
            Do::Keys(presses) => {
                for (i, press) in presses.iter().enumerate() {
                    if i > 0 {
                        beat(KEY_BEAT).await;
                    }
                    for key in keys(*press, last) {
                        if cues.send(Cue::Key(key)).is_err() {
                            return;
                        }
                        if matches!(press, Press::Type(_) | Press::Last) {
                            beat(TYPE_BEAT).await;
                        }
                    }
                }
            }
        }
        beat(step.pause).await;
    }
    let _ = cues.send(Cue::End);
}

/// Waits for the dashboard to be done with its calls and to show fresh data; false when it has gone.
async fn settled(cues: &mpsc::UnboundedSender<Cue>) -> bool {
    let (done, answered) = oneshot::channel();
    cues.send(Cue::Sync(done)).is_ok() && answered.await.is_ok()
}

/// The key events of a press, as a terminal sends them (capitals with Shift).
pub fn keys(press: Press, last: u64) -> Vec<KeyEvent> {
    let char_key = |c: char| {
        let modifiers = if c.is_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
        KeyEvent::new(KeyCode::Char(c), modifiers)
    };
    match press {
        Press::Key(code) => vec![KeyEvent::new(code, KeyModifiers::NONE)],
        Press::Type(text) => text.chars().map(char_key).collect(),
        Press::Last => last.to_string().chars().map(char_key).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long the script plays at `speed`, typing included (the engine's and screen's time aside).
    fn length(script: &[Step], speed: f64) -> Duration {
        let secs: f64 = script
            .iter()
            .map(|step| {
                let typing = match step.then {
                    Do::Keys(presses) => {
                        let typed: usize = presses
                            .iter()
                            .map(|p| match p {
                                Press::Type(text) => text.chars().count(),
                                _ => 0,
                            })
                            .sum();
                        typed as f64 * TYPE_BEAT + presses.len().saturating_sub(1) as f64 * KEY_BEAT
                    }
                    _ => 0.0,
                };
                step.pause + typing
            })
            .sum();
        Duration::from_secs_f64(secs / speed.clamp(0.1, 100.0))
    }

    fn captions() -> Vec<&'static str> {
        SCRIPT.iter().filter_map(|s| s.caption).collect()
    }

    /// The keys the viewer presses, in order, as one string of their characters (Enter as `⏎`).
    fn pressed() -> String {
        SCRIPT
            .iter()
            .filter_map(|s| match s.then {
                Do::Keys(presses) => Some(presses),
                _ => None,
            })
            .flatten()
            .flat_map(|p| keys(*p, 7))
            .map(|k| match k.code {
                KeyCode::Char(c) => c,
                KeyCode::Enter => '⏎',
                _ => '¤',
            })
            .collect()
    }

    #[test]
    fn the_story_has_each_beat_in_order() {
        let keys = pressed();
        // Details by number, approve with a reason and send, the Access tab, deny by number,
        // the wizard on tab 1, marks on the filtered Requests tab then one approval.
        let beats = ["#7⏎", "aMatches", "⏎4", "3#7⏎d", "1n", "3/", "*a", "CHG-1400⏎"];
        let mut from = 0;
        for beat in beats {
            let at =
                keys[from..].find(beat).unwrap_or_else(|| panic!("no {beat:?} after {from} in {keys:?}"));
            from += at + beat.len();
        }
        let asks: Vec<&str> = SCRIPT
            .iter()
            .filter_map(|s| match s.then {
                Do::Ask { by, app, .. } if app == NEW_APP => Some(by),
                _ => None,
            })
            .collect();
        assert!(asks.len() >= 3, "several requests should arrive for the bulk approval: {asks:?}");
        let watched = SCRIPT.iter().find_map(|s| match s.then {
            Do::Ask { lasts: Lasts::Watched(secs), .. } => Some(secs),
            _ => None,
        });
        let watched = watched.expect("one access is watched to its end");
        // The pauses after the approval outlast the access, so it is seen to end.
        let approval = SCRIPT
            .iter()
            .position(|s| matches!(s.then, Do::Keys([Press::Key(KeyCode::Char('4'))])))
            .expect("the Access tab");
        let shown: f64 = SCRIPT[approval..approval + 2].iter().map(|s| s.pause).sum();
        assert!(shown > watched, "the access ({watched} s) should end while on screen ({shown} s)");
        assert!(captions().iter().all(|c| !c.is_empty()));
    }

    #[test]
    fn the_tour_lasts_about_a_minute_and_its_speed_scales_it() {
        let whole = length(SCRIPT, 1.0).as_secs_f64();
        assert!((60.0..=90.0).contains(&whole), "the tour should last 60-90 s at speed 1, not {whole}");
        let fast = length(SCRIPT, 20.0).as_secs_f64();
        assert!((fast * 20.0 - whole).abs() < 0.01, "speed 20 should play it 20 times faster");
    }

    /// Each press is its keys: text key by key, capitals with Shift, the last request's number.
    /// Each caption fits a 100-column footer beside the quit hint, as the recording shows it.
    #[test]
    fn every_caption_fits_a_100_column_footer() {
        for caption in captions() {
            assert!(caption.chars().count() <= 100 - 3 - 18, "too long for the footer: {caption:?}");
        }
    }

    #[test]
    fn presses_become_keys_as_a_terminal_sends_them() {
        let typed = keys(Press::Type("Ok"), 0);
        assert_eq!(typed[0], KeyEvent::new(KeyCode::Char('O'), KeyModifiers::SHIFT));
        assert_eq!(typed[1], KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE));
        let number: Vec<KeyCode> = keys(Press::Last, 42).into_iter().map(|k| k.code).collect();
        assert_eq!(number, vec![KeyCode::Char('4'), KeyCode::Char('2')]);
    }
}
